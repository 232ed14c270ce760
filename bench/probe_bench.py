#!/usr/bin/env python3
"""Cost and readings of the end-to-end probe at its default settings on a real local cluster.

Starts a cluster (3 brokers by default), an exporter with only the probe enabled (the Kafka
collector off, so the exporter's own numbers are the probe collector's), lets it warm up, then
measures over SECONDS: CPU time of the probe worker and of the exporter (from /proc), their
resident memory (now and peak), messages per second, and the produce, end-to-end and commit
latencies the probe saw in that window (quantiles interpolated within histogram buckets, as
Prometheus' histogram_quantile does). Numbers are printed, never asserted.

usage: bench/probe_bench.py [--seconds 120] [--warmup 20] [--brokers 3] [--zookeepers 1]
                            [--interval 1s]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
from khe_testlib import Cluster, Exporter  # noqa: E402
from lag_bench import proc_cpu_seconds, proc_status  # noqa: E402


def buckets(m, name):
    """{le: count} summed over every series of the histogram."""
    out = {}
    for labels, v in m.find(name + "_bucket"):
        le = float(labels["le"])
        out[le] = out.get(le, 0) + v
    return out


def quantile(q, before, after):
    delta = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = delta[-1][1]
    if total <= 0:
        return float("nan"), 0
    rank, prev_le, prev_count = q * total, 0.0, 0
    for le, count in delta:
        if count >= rank:
            if le == float("inf"):
                return prev_le, total
            return prev_le + (le - prev_le) * (rank - prev_count) / max(count - prev_count, 1e-9), total
        prev_le, prev_count = le, count
    return prev_le, total


def total(m, name):
    return sum(v for _, v in m.find(name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--zookeepers", type=int, default=1)
    ap.add_argument("--interval", default="1s")
    args = ap.parse_args()

    cluster = Cluster(mode="zk", brokers=args.brokers, zookeepers=args.zookeepers,
                      prefix="khe-bench")
    exporter = None
    try:
        exporter = Exporter(cluster.bootstrap, collector="probe",
                            extra_yaml=(f"  enabled: false\nprobe:\n  enabled: true\n"
                                        f"  interval: {args.interval}\n"))
        worker = int(subprocess.run(["pgrep", "-P", str(exporter.proc.pid), "-f",
                                     "internal.probe-worker"], capture_output=True, text=True,
                                    check=True).stdout.split()[0])
        time.sleep(args.warmup)
        m0 = exporter.metrics()
        t0 = time.time()
        cpu0 = {"worker": proc_cpu_seconds(worker),
                "exporter": proc_cpu_seconds(exporter.proc.pid)}
        time.sleep(args.seconds)
        m1 = exporter.metrics()
        wall = time.time() - t0
        cpu1 = {"worker": proc_cpu_seconds(worker),
                "exporter": proc_cpu_seconds(exporter.proc.pid)}

        print(f"probe at defaults (interval {args.interval}, 128-byte messages, acks=all), "
              f"{args.brokers} brokers, {wall:.0f} s measured after {args.warmup} s warm-up")
        for who, pid in (("probe worker", worker), ("exporter (probe collector only)",
                                                    exporter.proc.pid)):
            key = "worker" if who.startswith("probe") else "exporter"
            used = cpu1[key] - cpu0[key]
            rss, peak = proc_status(pid, "VmRSS") / 2**20, proc_status(pid, "VmHWM") / 2**20
            print(f"  {who:<33} CPU {used:6.2f} s = {100 * used / wall:5.2f} % of one core   "
                  f"RSS {rss:6.1f} MiB (peak {peak:6.1f} MiB)")
        for what in ("produced", "received", "failed", "lost", "late", "duplicated"):
            name = f"kafka_probe_messages_{what}_total"
            print(f"  messages {what:<11} {total(m1, name) - total(m0, name):8.0f}")
        print(f"  partitions {m1.value('kafka_probe_topic_partitions'):.0f}, in flight now "
              f"{m1.value('kafka_probe_messages_in_flight'):.0f}")
        for label, name in (("produce (ack)", "kafka_probe_produce_latency_seconds"),
                            ("end to end", "kafka_probe_end_to_end_latency_seconds"),
                            ("offset commit", "kafka_probe_offset_commit_latency_seconds")):
            b0, b1 = buckets(m0, name), buckets(m1, name)
            p50, n = quantile(0.5, b0, b1)
            p90, _ = quantile(0.9, b0, b1)
            p99, _ = quantile(0.99, b0, b1)
            s = total(m1, name + "_sum") - total(m0, name + "_sum")
            mean = s / n if n else float("nan")
            print(f"  {label:<14} n={n:6.0f}  mean {mean * 1000:7.2f} ms  p50 {p50 * 1000:7.2f} ms"
                  f"  p90 {p90 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms")
    finally:
        if exporter:
            exporter.stop()
        cluster.close()


if __name__ == "__main__":
    main()
