#!/usr/bin/env python3
"""Benchmark of the ZooKeeper collector on a real local 3-node ensemble (plus one broker whose
registration is read).

Prints the time of one full poll (ruok, mntr, srvr, isro on every server in parallel, and
Kafka's registrations through the C client), as the exporter measures it
(kafka_hub_exporter_collector_last_duration_seconds{collector="zookeeper"}), over POLLS polls:
with every server healthy, then with one server frozen (SIGSTOP), where the poll is bounded by
that server's connect and read timeouts. Also the wall time of `--once`. Numbers are printed,
never asserted.

usage: bench/zookeeper_bench.py [--polls 20] [--read-timeout 1s]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
from khe_testlib import EXPORTER, Cluster, Exporter  # noqa: E402


def poll_durations(exporter, polls):
    seen, durations = None, []
    deadline = time.time() + polls * 3 + 30
    while len(durations) < polls and time.time() < deadline:
        m = exporter.metrics()
        stamp = m.value("kafka_hub_exporter_collector_last_success_timestamp_seconds",
                        collector="zookeeper")
        if stamp != seen:
            if seen is not None:
                durations.append(m.value("kafka_hub_exporter_collector_last_duration_seconds",
                                         collector="zookeeper"))
            seen = stamp
        time.sleep(0.1)
    return durations


def show(what, durations):
    ms = sorted(d * 1000 for d in durations)
    print(f"{what:<38} polls={len(ms):<3} min={ms[0]:7.1f} ms  "
          f"median={statistics.median(ms):7.1f} ms  max={ms[-1]:7.1f} ms", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=20)
    ap.add_argument("--read-timeout", default="1s")
    args = ap.parse_args()

    cluster = Cluster(mode="zk", brokers=1, zookeepers=3)
    exporter = None
    try:
        servers = [cluster.env[f"ZOOKEEPER_{n}_ADDR"] for n in (1, 2, 3)]
        exporter = Exporter(None, collector="zookeeper",
                            extra_yaml=(f"zookeeper:\n  servers: [{', '.join(servers)}]\n"
                                        "  poll_interval: 2s\n  poll_timeout: 1500ms\n"
                                        "  connect_timeout: 500ms\n"
                                        f"  read_timeout: {args.read_timeout}\n"))
        m = exporter.metrics()
        series = sum(1 for n, _, _ in m.samples if n.startswith(("zookeeper_", "kafka_zookeeper_")))
        print(f"series: {series}  /metrics bytes: {len(m.text)}", flush=True)
        show("full poll, 3 servers healthy", poll_durations(exporter, args.polls))

        flags = sum((["--zookeeper.server", s] for s in servers), [])
        t0 = time.monotonic()
        subprocess.run([EXPORTER, *flags, "--once"], capture_output=True, check=True, timeout=60)
        print(f"{'--once (process start to exit)':<38} {1000 * (time.monotonic() - t0):.1f} ms",
              flush=True)

        cluster.ctl("stop", "zookeeper", "1")
        try:
            time.sleep(3)
            show("full poll, 1 server frozen (SIGSTOP)",
                 poll_durations(exporter, min(args.polls, 10)))
        finally:
            cluster.ctl("resume", "zookeeper", "1")
    finally:
        if exporter:
            exporter.stop()
        cluster.close()


if __name__ == "__main__":
    main()
