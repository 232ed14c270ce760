#!/usr/bin/env python3
"""jmx_bench: what one JMX collection costs the broker, our Jolokia bridge vs jmx_exporter.

One real Kafka 3.6.1 broker with many partitions carries both the Jolokia agent and
jmx_exporter 0.20.0's javaagent, both with the same rules file. Rounds alternate:
  jmx_exporter: GET its /metrics (it reads every attribute of every included MBean, then
                applies the rules);
  ours:         kafka-hub-exporter --once with the same rules file through Jolokia (one bulk
                request with only the MBean patterns and attributes the rules can match).
For each: wall time of the collection and the broker's CPU time during it (utime + stime from
/proc/<broker pid>/stat), plus our own process's CPU and peak RSS. The broker's idle CPU over the
same wall time is measured separately and printed, not subtracted.

  bench/jmx_bench.py [--partitions 10000] [--rounds 8] [--rules config/jmx/kafka-broker.yaml]
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(REPO, "test", "cluster", "cluster")
EXPORTER = os.environ.get("KHE_EXPORTER", os.path.join(REPO, "build", "kafka-hub-exporter"))
LOADGEN = os.environ.get("KHE_LOADGEN", os.path.join(REPO, "build", "bench", "loadgen", "kafka-hub-loadgen"))
TICK = os.sysconf("SC_CLK_TCK")


def say(msg):
    print(f"jmx_bench: {msg}", flush=True)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v.strip("'\"")
    return env


def count_series(text):
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def rule_series(text):
    """Names and labels of the rules' series (the agents' own jvm_/process_ series and the
    exporter's self-metrics left out), label order and jmx_exporter's trailing comma ignored."""
    out = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        if not rest:
            name = line.split(" ")[0]
        if name.startswith(("jvm_", "process_", "jmx_", "kafka_hub_exporter_")):
            continue
        labels = rest.rsplit("}", 1)[0] if rest else ""
        out.add((name, tuple(sorted(p for p in labels.replace('",', '"\x00').split("\x00") if p))))
    return out


def measure(pid, action):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    result = action()
    return time.monotonic() - t0, cpu_seconds(pid) - c0, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--rules", default=os.path.join(REPO, "config", "jmx", "kafka-broker.yaml"))
    ap.add_argument("--keep", action="store_true", help="leave the cluster running")
    args = ap.parse_args()

    jar = subprocess.run([CLUSTER, "fetch", "--jmx-exporter", "--jolokia"], capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    work = tempfile.mkdtemp(prefix="khe-jmx-bench-")
    env = dict(os.environ)
    # 10k partitions need more heap than the test cluster's default.
    env.setdefault("KHE_BROKER_JVM_OPTS", "-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20")
    say(f"starting 1 broker with Jolokia and jmx_exporter ({os.path.basename(args.rules)})")
    subprocess.run([CLUSTER, "up", "--dir", work, "--brokers", "1", "--zookeepers", "1", "--jolokia",
                    "--javaagent", f"{jar}={{port}}:{args.rules}", "--timeout", "300"],
                   check=True, env=env)
    try:
        cenv = read_env(os.path.join(work, "cluster.env"))
        pid = int(cenv["BROKER_0_PID"])
        jolokia = cenv["BROKER_0_JOLOKIA_URL"]
        agent = f"http://127.0.0.1:{cenv['JAVAAGENT_PORTS'].split(',')[0]}/metrics"
        per_topic = 100
        topics = max(1, args.partitions // per_topic)
        say(f"creating {topics} topics x {per_topic} partitions")
        subprocess.run([LOADGEN, "--bootstrap", cenv["BOOTSTRAP"], "--timeout", "600", "create-topics",
                        "--prefix", "bench-", "--count", str(topics), "--partitions", str(per_topic)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([LOADGEN, "--bootstrap", cenv["BOOTSTRAP"], "produce", "--topic", "bench-0",
                        "--messages", "10", "--per-partition"], check=True, stdout=subprocess.DEVNULL)
        time.sleep(5)

        def jmx_exporter():
            with urllib.request.urlopen(agent, timeout=600) as r:
                return r.read().decode()

        def ours():
            p = subprocess.Popen([EXPORTER, "--once", "--jolokia.url", jolokia, "--jmx.config", args.rules],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = p.communicate(timeout=600)
            if p.returncode != 0:
                raise RuntimeError(f"exporter failed: {err[-2000:]}")
            return out

        # Our own CPU and RSS: from the children's rusage, one run at a time.
        def ours_with_usage():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = ours()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return out, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), after.ru_maxrss

        say("warming up both")
        for _ in range(2):
            jmx_exporter()
            ours()

        theirs_series, ours_series = rule_series(jmx_exporter()), rule_series(ours())
        missing, extra = theirs_series - ours_series, ours_series - theirs_series
        say(f"same series as jmx_exporter: {'yes' if not missing and not extra else 'NO'} "
            f"({len(theirs_series)} rule series; missing {len(missing)}, extra {len(extra)})")
        for key in sorted(missing)[:5]:
            say(f"  missing {key}")
        for key in sorted(extra)[:5]:
            say(f"  extra {key}")

        rows = {"jmx_exporter": [], "ours": []}
        own_cpu, peak_rss, sizes = [], 0, {}
        for r in range(args.rounds):
            wall, cpu, text = measure(pid, jmx_exporter)
            rows["jmx_exporter"].append((wall, cpu))
            sizes["jmx_exporter"] = (count_series(text), len(text))
            wall, cpu, (text, mine, rss) = measure(pid, ours_with_usage)
            rows["ours"].append((wall, cpu))
            own_cpu.append(mine)
            peak_rss = max(peak_rss, rss)
            sizes["ours"] = (count_series(text), len(text))
            say(f"round {r + 1}: jmx_exporter {rows['jmx_exporter'][-1][0]:.2f} s wall "
                f"{rows['jmx_exporter'][-1][1]:.2f} s broker CPU; ours {wall:.2f} s wall {cpu:.2f} s broker CPU")
        idle_wall = statistics.median(w for w, _ in rows["jmx_exporter"])
        c0 = cpu_seconds(pid)
        time.sleep(idle_wall)
        idle_cpu = cpu_seconds(pid) - c0

        print()
        print(f"broker: 1, partitions: {args.partitions}, rules: {os.path.relpath(args.rules, REPO)}, "
              f"rounds: {args.rounds} (medians, min-max)")
        for who in ("jmx_exporter", "ours"):
            walls = [w for w, _ in rows[who]]
            cpus = [c for _, c in rows[who]]
            print(f"  {who:13s} wall {statistics.median(walls):6.3f} s ({min(walls):.3f}-{max(walls):.3f})  "
                  f"broker CPU {statistics.median(cpus):6.3f} s ({min(cpus):.3f}-{max(cpus):.3f})  "
                  f"series {sizes[who][0]}  bytes {sizes[who][1]}")
        je = statistics.median(c for _, c in rows["jmx_exporter"])
        us = statistics.median(c for _, c in rows["ours"])
        jw = statistics.median(w for w, _ in rows["jmx_exporter"])
        uw = statistics.median(w for w, _ in rows["ours"])
        print(f"  ratio ours/jmx_exporter: broker CPU {us / je if je else float('nan'):.3f}, "
              f"wall {uw / jw if jw else float('nan'):.3f}")
        print(f"  broker idle CPU over {idle_wall:.2f} s: {idle_cpu:.3f} s (not subtracted)")
        print(f"  our process (exporter --once, incl. start-up): CPU median {statistics.median(own_cpu):.3f} s, "
              f"peak RSS {peak_rss / 1024:.1f} MiB")
        print(json.dumps({"partitions": args.partitions,
                          "jmx_exporter": {"wall": jw, "broker_cpu": je, "series": sizes["jmx_exporter"][0]},
                          "ours": {"wall": uw, "broker_cpu": us, "series": sizes["ours"][0],
                                   "own_cpu": statistics.median(own_cpu), "peak_rss_mib": peak_rss / 1024}}))
    finally:
        if not args.keep:
            subprocess.run([CLUSTER, "down", "--dir", work, "--purge"], timeout=120)
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
