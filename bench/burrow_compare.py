#!/usr/bin/env python3
"""Compare the exporter's Burrow-style consumer status with LinkedIn Burrow itself.

Starts a real local cluster (1 ZooKeeper, 1 broker, Kafka 3.6.1, test/cluster/cluster), sets up
the five scenarios of test/integration/status_test.py (ok-g keeps up, warn-g falls behind while
moving, stall-g is a member that stopped moving, stop-g left the group with messages unread,
rewind-g left half-way and is reset to earliest), runs the exporter and Burrow side by side against it, waits until
the statuses settle (bounded), and prints a per-partition and a per-group comparison table.

Burrow 1.9.5 is installed once with `go install` into <repo>/.cache/go (ignored by git); use
--burrow PATH for a prebuilt binary or --burrow-src DIR to build a local source checkout.
Without Burrow the run stops before starting anything, unless --exporter-only is given (then the
Burrow column reads n/a). Everything started here is stopped on exit, failure or Ctrl-C.

Standard library only. See bench/burrow/README.md.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
import khe_testlib  # noqa: E402
from khe_testlib import Cluster, Exporter, free_port, log, stop_process  # noqa: E402

BURROW_VERSION = "v1.9.5"
GO_CACHE = os.path.join(REPO, ".cache", "go")
BURROW_BIN = os.path.join(GO_CACHE, "bin", "Burrow")

# Burrow's StatusConstant numbering, which the exporter's gauges reuse.
NAMES = {0: "NOTFOUND", 1: "OK", 2: "WARN", 3: "ERR", 4: "STOP", 5: "STALL", 6: "REWIND"}
CODES = {v: k for k, v in NAMES.items()}

# (group, topic, the status status_test.py expects once settled)
SCENARIOS = [("ok-g", "ok-t", "OK"), ("warn-g", "warn-t", "WARN"), ("stall-g", "stall-t", "STALL"),
             ("stop-g", "stop-t", "STOP"), ("rewind-g", "rewind-t", "REWIND")]
GROUP_EXPECTED = {"OK": "OK", "WARN": "WARN", "STALL": "ERR", "STOP": "ERR", "REWIND": "ERR"}


class Deadline(Exception):
    pass


def go_binary():
    for cand in (shutil.which("go"), "/usr/local/go/bin/go"):
        if cand and os.path.exists(cand):
            return cand
    return None


def go_env():
    env = dict(os.environ)
    env.update(GOBIN=os.path.join(GO_CACHE, "bin"), GOMODCACHE=os.path.join(GO_CACHE, "mod"),
               GOPATH=GO_CACHE, GOFLAGS="-modcacherw")
    env.setdefault("GOTOOLCHAIN", "auto")  # may fetch a newer toolchain through the proxy
    return env


def ensure_burrow(args):
    """Path of a Burrow binary, or (None, reason)."""
    if args.burrow:
        return (args.burrow, None) if os.access(args.burrow, os.X_OK) else \
            (None, f"--burrow {args.burrow}: not an executable file")
    go = go_binary()
    if args.burrow_src:
        if not go:
            return None, "no go toolchain found"
        os.makedirs(os.path.dirname(BURROW_BIN), exist_ok=True)
        log(f"building Burrow from {args.burrow_src}")
        p = subprocess.run([go, "build", "-o", BURROW_BIN, "."], cwd=args.burrow_src,
                           env=go_env(), capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            return None, f"go build failed:\n{p.stdout}{p.stderr}"
        return BURROW_BIN, None
    if os.access(BURROW_BIN, os.X_OK):
        return BURROW_BIN, None
    if not go:
        return None, "no go toolchain found"
    os.makedirs(GO_CACHE, exist_ok=True)
    cmd = [go, "install", f"github.com/linkedin/Burrow@{BURROW_VERSION}"]
    log(f"installing Burrow {BURROW_VERSION}: GOBIN={GO_CACHE}/bin {' '.join(cmd)}")
    started = time.time()
    p = subprocess.run(cmd, env=go_env(), capture_output=True, text=True, timeout=900)
    if p.returncode != 0 or not os.access(BURROW_BIN, os.X_OK):
        return None, (f"go install failed ({p.returncode}) after {time.time() - started:.1f} s:\n"
                      f"{p.stdout}{p.stderr}")
    log(f"Burrow installed in {time.time() - started:.1f} s")
    return BURROW_BIN, None


def burrow_toml(args, zookeeper, bootstrap, port, workdir):
    """Burrow's defaults except the aligned settings marked ALIGNED."""
    zks = ", ".join(f'"{z}"' for z in zookeeper.split(","))
    servers = ", ".join(f'"{s}"' for s in bootstrap.split(","))
    poll = max(1, int(round(parse_seconds(args.poll_interval))))
    return f"""\
[general]
pidfile = "{workdir}/burrow.pid"

[logging]
level = "info"

[zookeeper]
servers = [ {zks} ]
timeout = 6
root-path = "/burrow-compare-{os.getpid()}"

[client-profile.compare]
client-id = "burrow-compare"
kafka-version = "{args.kafka_version}"

[cluster.local]
class-name = "kafka"
servers = [ {servers} ]
client-profile = "compare"
topic-refresh = 60
# ALIGNED: broker end offsets fetched as often as the exporter polls (default 10 s).
offset-refresh = {poll}

[consumer.local]
class-name = "kafka"
cluster = "local"
servers = [ {servers} ]
client-profile = "compare"
offsets-topic = "__consumer_offsets"
start-latest = false

[storage.default]
class-name = "inmemory"
workers = 20
# ALIGNED: commits kept per partition = the exporter's status window (default 10).
intervals = {args.window}
expire-group = 604800

[evaluator.default]
class-name = "caching"
# ALIGNED: evaluation cache as long as the exporter's poll interval (default 10 s).
expire-cache = {poll}

[httpserver.default]
address = "127.0.0.1:{port}"
"""


def parse_seconds(text):
    text = str(text)
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


class Burrow:
    def __init__(self, binary, toml, workdir, port):
        self.dir = workdir
        self.config_dir = os.path.join(workdir, "config")
        os.makedirs(self.config_dir, exist_ok=True)
        with open(os.path.join(self.config_dir, "burrow.toml"), "w") as f:
            f.write(toml)
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(workdir, "burrow.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "--config-dir", self.config_dir], cwd=workdir,
                                     stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Burrow exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if self.get("/burrow/admin")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"Burrow not answering after 60 s:\n{self.logs()}")

    def get(self, path, timeout=5):
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def group(self, group):
        """(group status name, {(topic, partition): (status name, current lag)})."""
        # /lag is /status with every partition (/status lists only the partitions not OK).
        status, body = self.get(f"/v3/kafka/local/consumer/{group}/lag")
        if status == 404:
            return "NOTFOUND", {}
        if status != 200:
            raise RuntimeError(f"Burrow answered {status}: {body[:300]!r}")
        s = json.loads(body)["status"]
        parts = {(p["topic"], int(p["partition"])): (p["status"], p.get("current_lag"))
                 for p in s.get("partitions") or [] if p}
        return s["status"], parts

    def logs(self, lines=40):
        if not self.log_file.closed:
            self.log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        stop_process(self.proc)
        self.log_file.close()


def exporter_view(exporter):
    m = exporter.metrics()
    view = {}
    for group, topic, _ in SCENARIOS:
        found = m.find("kafka_consumergroup_partition_status", group=group, topic=topic,
                       partition=0)
        part = NAMES.get(int(found[0][1]), str(found[0][1])) if found else "NOTFOUND"
        g = m.find("kafka_consumergroup_group_status", group=group)
        gs = NAMES.get(int(g[0][1]), str(g[0][1])) if g else "NOTFOUND"
        lag = m.find("kafka_consumergroup_group_lag", group=group, topic=topic, partition=0) or \
            m.find("kafka_consumergroup_lag", consumergroup=group, topic=topic, partition=0)
        view[group] = (part, gs, int(lag[0][1]) if lag else None)
    return view


def burrow_view(burrow):
    view = {}
    for group, topic, _ in SCENARIOS:
        if burrow is None:
            view[group] = ("n/a", "n/a", None)
            continue
        gs, parts = burrow.group(group)
        part, lag = parts.get((topic, 0), ("NOTFOUND", None))
        view[group] = (part, gs, lag)
    return view


def fmt(name):
    return f"{name}({CODES[name]})" if name in CODES else name


def print_tables(snaps, final, have_burrow, timelines):
    """snaps: {group: (t, exp, bur, reached)} taken per scenario; final: (t, exp, bur)."""
    def row_lag(v):
        return "-" if v is None else str(v)

    print()
    print("Partition status, per scenario when it settled (the exporter held the expected status "
          "for --hold s; Burrow sampled at the same moment):")
    rows = [("group", "topic", "part", "expected", "at", "exporter", "exp_lag", "burrow",
             "bur_lag", "agree")]
    for group, topic, expected in SCENARIOS:
        t, exp, bur, reached = snaps[group]
        e, b = exp[group], bur[group]
        agree = ("yes" if e[0] == b[0] else "no") if have_burrow else "-"
        at = f"{t:+.0f}s" + ("" if reached else "!")
        rows.append((group, topic, "0", fmt(expected), at, fmt(e[0]), row_lag(e[2]), fmt(b[0]),
                     row_lag(b[2]), agree))
    table(rows)
    print()
    print("Group status at the same moments:")
    rows = [("group", "expected", "at", "exporter", "burrow", "agree")]
    for group, _, expected in SCENARIOS:
        t, exp, bur, reached = snaps[group]
        e, b = exp[group], bur[group]
        agree = ("yes" if e[1] == b[1] else "no") if have_burrow else "-"
        rows.append((group, fmt(GROUP_EXPECTED[expected]), f"{t:+.0f}s" + ("" if reached else "!"),
                     fmt(e[1]), fmt(b[1]), agree))
    table(rows)
    print()
    t, exp, bur = final
    print(f"At the end of the observation ({t:+.0f}s): partition / group")
    rows = [("group", "exporter", "burrow", "agree")]
    for group, _, _ in SCENARIOS:
        e, b = exp[group], bur[group]
        agree = ("yes" if e[:2] == b[:2] else "no") if have_burrow else "-"
        rows.append((group, f"{fmt(e[0])} / {fmt(e[1])}", f"{fmt(b[0])} / {fmt(b[1])}", agree))
    table(rows)
    print()
    print("Partition status changes (seconds after the stall consumer was stopped and rewind-g "
          "was reset; '!' above = never reached within --settle):")
    for group, _, _ in SCENARIOS:
        for side in ("exporter", "burrow"):
            if side == "burrow" and not have_burrow:
                continue
            changes = " -> ".join(f"{st}@{t:+.0f}s" for t, st in timelines[(group, side)])
            print(f"  {group:<9} {side:<8} {changes}")
    sys.stdout.flush()


def table(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--burrow", help="a prebuilt Burrow binary (skips the go install)")
    ap.add_argument("--burrow-src", help="a Burrow source checkout to build with go build")
    ap.add_argument("--exporter-only", action="store_true",
                    help="run even without Burrow; its column then reads n/a")
    ap.add_argument("--window", type=int, default=5,
                    help="exporter status.window = Burrow storage intervals (default 5)")
    ap.add_argument("--allowed-lag", type=int, default=0,
                    help="exporter status.allowed_lag; Burrow has no such setting, its rules "
                         "use lag == 0, so 0 (the default) is the aligned value")
    ap.add_argument("--poll-interval", default="1s", help="exporter poll interval (default 1s)")
    ap.add_argument("--kafka-version", default="2.0.0",
                    help="Burrow client-profile kafka-version (default 2.0.0)")
    ap.add_argument("--settle", type=float, default=90,
                    help="at most this many seconds for the statuses to settle (default 90)")
    ap.add_argument("--hold", type=float, default=3,
                    help="a scenario has settled once the exporter held its expected status "
                         "this long (default 3)")
    ap.add_argument("--observe", type=float, default=30,
                    help="observe both sides at least this long after the events (default 30)")
    ap.add_argument("--budget", type=float, default=900,
                    help="hard bound on the whole run in seconds (default 900)")
    args = ap.parse_args()
    t0 = time.time()

    for path, what in ((khe_testlib.EXPORTER, "exporter"), (khe_testlib.LOADGEN, "loadgen")):
        if not os.access(path, os.X_OK):
            print(f"error: the {what} binary {path} is missing; build it first", file=sys.stderr)
            return 1

    burrow_bin, why = ensure_burrow(args)
    if burrow_bin is None:
        print(f"Burrow unavailable: {why.strip()}", file=sys.stderr)
        if not args.exporter_only:
            print("(use --burrow PATH / --burrow-src DIR, or --exporter-only)", file=sys.stderr)
            return 2
        log("continuing with --exporter-only")

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def on_alarm(signum, frame):
        raise Deadline(f"run exceeded --budget {args.budget:.0f} s")

    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (&)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(args.budget))

    cluster = exporter = burrow = None
    background, stall = [], None
    workdir = tempfile.mkdtemp(prefix="khe-burrow-compare-")
    ok = False
    try:
        # If starting is interrupted, Cluster's exit hook still takes the cluster down.
        cluster = Cluster(mode="zk", brokers=1, zookeepers=1, prefix="khe-burrow")
        c = cluster
        for topic in ("ok-t", "warn-t", "stall-t", "stop-t", "rewind-t"):
            c.loadgen("create-topics", "--topic", topic, "--partitions", "1", "--replication", "1")
        c.loadgen("produce", "--topic", "stop-t", "--messages", "100")
        c.loadgen("consume", "--group", "stop-g", "--topic", "stop-t", "--max-messages", "50",
                  "--commit-every", "10")
        c.loadgen("produce", "--topic", "rewind-t", "--messages", "100")
        # Half read, lagging at every commit: Burrow skips REWIND when any commit had zero lag.
        c.loadgen("consume", "--group", "rewind-g", "--topic", "rewind-t", "--max-messages",
                  "50", "--commit-every", "10")
        for topic, rate in (("ok-t", "20"), ("warn-t", "50"), ("stall-t", "20")):
            background.append(c.loadgen_background("produce", "--topic", topic, "--messages", "0",
                                                   "--rate", rate))
        background.append(c.loadgen_background("consume", "--group", "ok-g", "--topic", "ok-t",
                                               "--commit-every", "1"))
        background.append(c.loadgen_background("consume", "--group", "warn-g", "--topic",
                                               "warn-t", "--rate", "5", "--commit-every", "5"))
        stall = c.loadgen_background("consume", "--group", "stall-g", "--topic", "stall-t",
                                     "--commit-every", "1")
        background.append(stall)

        extra = f"  status: {{window: {args.window}, allowed_lag: {args.allowed_lag}}}\n"
        exporter = Exporter(c.bootstrap, poll_interval=args.poll_interval,
                            poll_timeout="700ms", extra_yaml=extra)
        log(f"exporter on {exporter.url}")
        if burrow_bin:
            port = free_port()
            toml = burrow_toml(args, c.env["ZOOKEEPER"], c.bootstrap, port, workdir)
            burrow = Burrow(burrow_bin, toml, workdir, port)
            log(f"Burrow on {burrow.url} (config {burrow.config_dir}/burrow.toml)")

        def views():
            return exporter_view(exporter), burrow_view(burrow)

        # Both sides evaluate the three running groups (as status_test does before SIGSTOP).
        deadline = time.time() + args.settle
        while True:
            exp, bur = views()
            running = ("ok-g", "warn-g", "stall-g")
            if all(exp[g][0] != "NOTFOUND" for g in running) and \
                    (burrow is None or all(bur[g][0] != "NOTFOUND" for g in running)):
                break
            if time.time() > deadline:
                log(f"warning: not every running group evaluated within {args.settle:.0f} s "
                    f"(exporter {exp}, burrow {bur}); going on")
                break
            time.sleep(1)
        log("initial evaluation done")
        time.sleep(3)
        stall.send_signal(signal.SIGSTOP)  # still a member, no longer moving
        t_stop = time.time()
        log("stall-g consumer stopped (SIGSTOP)")

        timelines = {(g, s): [] for g, _, _ in SCENARIOS for s in ("exporter", "burrow")}

        def record(exp, bur):
            now = time.time() - t_stop
            for g, _, _ in SCENARIOS:
                for side, v in (("exporter", exp), ("burrow", bur)):
                    tl = timelines[(g, side)]
                    if not tl or tl[-1][1] != v[g][0]:
                        tl.append((now, v[g][0]))

        # REWIND as in status_test: rewind-g left half-way (STOP); reset it to earliest.
        deadline = time.time() + 30
        while True:
            exp, bur = views()
            record(exp, bur)
            if exp["rewind-g"][0] == "STOP" or time.time() > deadline:
                break
            time.sleep(1)
        c.tool("kafka.admin.ConsumerGroupCommand", "--bootstrap-server", c.bootstrap,
               "--group", "rewind-g", "--topic", "rewind-t", "--reset-offsets", "--to-earliest",
               "--execute")
        log("rewind-g reset to earliest")

        # Settle, per scenario: the exporter has shown the status status_test expects for
        # --hold seconds (some are transient: REWIND turns into STOP once the window is idle
        # longer than it spans, STALL into STOP once the stopped member is dropped from the
        # group); Burrow is sampled at that same moment. The observation goes on for at least
        # --observe seconds (to give Burrow's own timing a chance), at most --settle.
        deadline = time.time() + args.settle
        snaps, held_since = {}, {}
        while True:
            exp, bur = views()
            now = time.time()
            record(exp, bur)
            t = now - t_stop
            for group, _, want in SCENARIOS:
                if exp[group][0] == want:
                    held_since.setdefault(group, now)
                    if group not in snaps and now - held_since[group] >= args.hold:
                        snaps[group] = (t, exp, bur, True)
                else:
                    held_since.pop(group, None)
            if len(snaps) == len(SCENARIOS) and t >= args.observe:
                break
            if now >= deadline:
                for group, _, _ in SCENARIOS:
                    snaps.setdefault(group, (t, exp, bur, False))
                break
            time.sleep(1)
        log(f"observation ended {time.time() - t_stop:.0f} s after SIGSTOP")
        print_tables(snaps, (time.time() - t_stop, exp, bur), burrow is not None, timelines)
        ok = True
        return 0 if (burrow is not None or args.exporter_only) else 2
    except (Exception, KeyboardInterrupt) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        if exporter is not None:
            print(f"--- exporter log (tail) ---\n{exporter.logs()}", file=sys.stderr)
        if burrow is not None:
            print(f"--- Burrow log (tail) ---\n{burrow.logs()}", file=sys.stderr)
        return 130 if isinstance(e, KeyboardInterrupt) else 1
    finally:
        signal.alarm(0)
        # Cleanup must not be interrupted by a second Ctrl-C or SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for p in background:
            try:
                p.send_signal(signal.SIGCONT)
                p.terminate()
            except OSError:
                pass
        for p in background:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for what in (burrow, exporter):
            if what is not None:
                try:
                    what.stop()
                except Exception as e:  # keep cleaning up
                    print(f"warning: stopping {type(what).__name__}: {e}", file=sys.stderr)
        if cluster is not None:
            try:
                cluster.close()
            except Exception as e:
                print(f"warning: cluster down: {e}", file=sys.stderr)
            shutil.rmtree(cluster.dir, ignore_errors=True)
        if exporter is not None:
            shutil.rmtree(exporter.dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"cleaned up; {'done' if ok else 'failed'} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
