#!/usr/bin/env python3
"""Benchmark of the consumer-lag collector on a real local cluster.

Creates TOPICS x PARTITIONS partitions and GROUPS groups with commits, runs the exporter against
it and prints: collection time per poll, CPU seconds and peak RSS of the exporter and of its
Kafka worker process, series count, /metrics size, and scrape latency p50/p99 under 50
concurrent scrapers (wrk). Numbers are printed, never asserted.

usage: bench/lag_bench.py [--topics 100] [--partitions 100] [--groups 1000]
                          [--partitions-per-group 10] [--polls 5] [--keep DIR]
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
from khe_testlib import Cluster, Exporter, log  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wrk(url, gzip, seconds=15):
    args = ["wrk", "-t2", "-c50", f"-d{seconds}s", "--latency", url]
    if gzip:
        args[1:1] = ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    def pct(p):
        m = re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)
        return m.group(1) if m else "?"
    rps = re.search(r"Requests/sec:\s+(\S+)", out)
    return pct(50), pct(99), rps.group(1) if rps else "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--partitions-per-group", type=int, default=10)
    ap.add_argument("--polls", type=int, default=5)
    ap.add_argument("--poll-interval", default="10s")
    ap.add_argument("--web-threads", type=int, default=0, help="0: the exporter's default")
    args = ap.parse_args()

    os.environ.setdefault("KHE_BROKER_JVM_OPTS", "-Xms512m -Xmx1536m -XX:+UseG1GC")
    cluster = Cluster(mode="zk", brokers=3, zookeepers=1)
    exporter = None
    try:
        total = args.topics * args.partitions
        t = time.time()
        cluster.loadgen("create-topics", "--prefix", "bench-", "--count", str(args.topics),
                        "--partitions", str(args.partitions), "--replication", "1",
                        "--timeout", "600", timeout=900)
        log(f"created {total} partitions in {time.time() - t:.1f} s")
        t = time.time()
        cluster.loadgen("commit-many", "--group-prefix", "bench-group-", "--groups",
                        str(args.groups), "--topic-prefix", "bench-", "--topics", str(args.topics),
                        "--partitions-per-group", str(args.partitions_per_group), "--offset", "0",
                        timeout=900)
        log(f"committed offsets for {args.groups} groups in {time.time() - t:.1f} s")

        web = f"web:\n  threads: {args.web_threads}\n" if args.web_threads else ""
        exporter = Exporter(cluster.bootstrap, poll_interval=args.poll_interval,
                            poll_timeout="8s", extra_yaml=web)
        worker = children(exporter.proc.pid)
        durations = []
        last = 0.0
        while len(durations) < args.polls:
            m = exporter.wait_for_poll_after(last, timeout=120)
            last = m.value("kafka_hub_exporter_collector_last_success_timestamp_seconds",
                           collector="kafka")
            durations.append(m.value("kafka_hub_exporter_collector_last_duration_seconds",
                                     collector="kafka"))
            log(f"poll {len(durations)}: {durations[-1]:.3f} s")
        worker = worker or children(exporter.proc.pid)
        status, body, _ = exporter.get("/metrics")
        series = sum(1 for line in body.decode().splitlines() if line and line[0] != "#")
        _, gz, _ = exporter.get("/metrics", headers={"Accept-Encoding": "gzip"})
        cpu_exporter = proc_cpu_seconds(exporter.proc.pid)
        cpu_worker = sum(proc_cpu_seconds(p) for p in worker)
        rss_exporter = proc_status(exporter.proc.pid, "VmHWM")
        rss_worker = sum(proc_status(p, "VmHWM") for p in worker)
        polls_done = len(durations) + 1  # the first poll (readiness) is not in `durations`
        p50, p99, rps = wrk(exporter.url + "/metrics", gzip=False)
        gp50, gp99, grps = wrk(exporter.url + "/metrics", gzip=True)
        rss_exporter_after = proc_status(exporter.proc.pid, "VmHWM")
        rss_exporter_now = proc_status(exporter.proc.pid, "VmRSS")
        rss_worker_now = sum(proc_status(p, "VmRSS") for p in worker)
        durations.sort()

        print()
        print(f"kafka-hub-exporter lag collection benchmark ({time.strftime('%Y-%m-%d')})")
        print(f"  cluster: 3 brokers (Kafka 3.6.1), {total} partitions in {args.topics} topics, "
              f"{args.groups} groups x {args.partitions_per_group} committed partitions")
        print(f"  collection time over {len(durations)} polls: min {durations[0]:.3f} s, "
              f"median {durations[len(durations) // 2]:.3f} s, max {durations[-1]:.3f} s")
        print(f"  CPU per poll: exporter {cpu_exporter / polls_done:.3f} s, "
              f"kafka worker {cpu_worker / polls_done:.3f} s "
              f"(totals {cpu_exporter:.2f} s and {cpu_worker:.2f} s over {polls_done} polls)")
        print(f"  peak RSS: exporter {rss_exporter / 2**20:.1f} MiB "
              f"({rss_exporter_after / 2**20:.1f} MiB after the scrape load), "
              f"kafka worker {rss_worker / 2**20:.1f} MiB; between polls: exporter "
              f"{rss_exporter_now / 2**20:.1f} MiB, worker {rss_worker_now / 2**20:.1f} MiB")
        print(f"  /metrics: {series} series, {len(body) / 2**20:.2f} MiB text, "
              f"{len(gz) / 2**20:.2f} MiB gzip")
        print(f"  scrapes, 50 concurrent (wrk -t2 -c50 15s), identity: p50 {p50}, p99 {p99}, "
              f"{rps} req/s")
        print(f"  scrapes, 50 concurrent, gzip:     p50 {gp50}, p99 {gp99}, {grps} req/s")
    finally:
        if exporter:
            exporter.stop()
        cluster.close()


if __name__ == "__main__":
    main()
