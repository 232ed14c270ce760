"""Helpers for integration tests: the local cluster, the exporter process, /metrics parsing and
Kafka's own kafka-consumer-groups output (the oracle). Standard library only."""

import atexit
import gzip
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(REPO, "test", "cluster", "cluster")
EXPORTER = os.environ.get("KHE_EXPORTER", os.path.join(REPO, "build", "kafka-hub-exporter"))
LOADGEN = os.environ.get("KHE_LOADGEN",
                         os.path.join(REPO, "build", "bench", "loadgen", "kafka-hub-loadgen"))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^([A-Z0-9_]+)='(.*)'$", line.strip())
            if m:
                env[m.group(1)] = m.group(2)
    return env


class Cluster:
    """A real local cluster started by test/cluster/cluster, stopped in close()."""

    def __init__(self, mode="zk", brokers=3, zookeepers=3, extra=(), prefix="khe-it"):
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}-{mode}-")
        self._closed = False
        self._background = []
        # Registered before `up`: even a start that is interrupted, or a test teardown that
        # fails half-way, leaves no cluster behind the test process.
        atexit.register(self.close)
        args = [CLUSTER, "up", "--dir", self.dir, "--mode", mode, "--brokers", str(brokers)]
        if mode == "zk":
            args += ["--zookeepers", str(zookeepers)]
        args += list(extra)
        log(f"starting cluster: {' '.join(args[1:])}")
        subprocess.run(args, check=True, timeout=600)
        self.env = read_env(os.path.join(self.dir, "cluster.env"))
        self.bootstrap = self.env["BOOTSTRAP"]

    def ctl(self, *args, timeout=300):
        subprocess.run([CLUSTER, *args[:1], "--dir", self.dir, *args[1:]], check=True,
                       timeout=timeout)

    def tool(self, cls, *args, check=True, timeout=180):
        p = subprocess.run([CLUSTER, "kafka-tool", "--dir", self.dir, cls, *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"{cls} {' '.join(args)} failed ({p.returncode}):\n"
                               f"{p.stdout}\n{p.stderr}")
        return p

    def loadgen(self, *args, timeout=300):
        p = subprocess.run([LOADGEN, "--bootstrap", self.bootstrap, *args], capture_output=True,
                           text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"loadgen {' '.join(args)} failed ({p.returncode}):\n"
                               f"{p.stdout}\n{p.stderr}")
        return p.stdout

    def loadgen_background(self, *args):
        p = subprocess.Popen([LOADGEN, "--bootstrap", self.bootstrap, *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._background.append(p)
        return p

    def close(self):
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for p in self._background:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)  # a test may have frozen it
                p.kill()
                p.wait()
        subprocess.run([CLUSTER, "down", "--dir", self.dir], timeout=120)


def describe_groups(cluster):
    """Kafka's own view: {(group, topic, partition): (current_offset or None, log_end, lag or
    None)} from kafka-consumer-groups --describe --all-groups."""
    out = cluster.tool("kafka.admin.ConsumerGroupCommand", "--bootstrap-server",
                       cluster.bootstrap, "--describe", "--all-groups").stdout
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 6 or f[0] == "GROUP" or not f[2].isdigit():
            continue
        def num(x):
            return None if x == "-" else int(x)
        rows[(f[0], f[1], int(f[2]))] = (num(f[3]), num(f[4]), num(f[5]))
    return rows


def group_states(cluster):
    out = cluster.tool("kafka.admin.ConsumerGroupCommand", "--bootstrap-server",
                       cluster.bootstrap, "--describe", "--all-groups", "--state").stdout
    states = {}
    for line in out.splitlines():
        f = line.split()
        # GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS
        if len(f) >= 5 and f[0] != "GROUP" and f[-1].isdigit():
            states[f[0]] = f[-2]
    return states


def read_catalogue():
    """{name: {type, labels, conditional, zookeeper, collector}} from the README's metric
    catalogue table. Rows whose meaning starts with ZK are the ZooKeeper collector's, with JMX
    the JMX bridge's, with Probe the end-to-end probe's (collector "zookeeper", "jmx", "probe",
    else "kafka"); names with <key> in them stand for the mntr keys."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("## Metric catalogue", 1)[1].split("\n## ", 1)[0]
    rows, previous_labels = {}, set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([^`]+)`", cells[0])  # a row may list several names
        labels = previous_labels if cells[2] == "same as above" else \
            set(re.findall(r"`([a-z_]+)`", cells[2]))
        previous_labels = labels
        collector = ("zookeeper" if cells[3].startswith("ZK") else
                     "jmx" if cells[3].startswith("JMX") else
                     "probe" if cells[3].startswith("Probe") else "kafka")
        for name in names:
            rows[name] = {"type": cells[1], "labels": labels,
                          "conditional": bool(re.match(r"^((ZK|JMX|Probe), )?\*Only\*", cells[3])),
                          "zookeeper": collector == "zookeeper", "collector": collector}
    return rows


# Sample suffixes that belong to a family of the given type in the text format.
_FAMILY_SUFFIXES = {"summary": ("_count", "_sum"), "histogram": ("_bucket", "_count", "_sum")}


def assert_catalogue(test, metrics, collector, at_least):
    """The README's catalogue rows of `collector` against real /metrics output: each name
    present with the row's type and exactly the row's labels (over all its samples)."""
    rows = {n: r for n, r in read_catalogue().items() if r["collector"] == collector}
    test.assertGreater(len(rows), at_least)
    for name, row in rows.items():
        test.assertIn(name, metrics.types, f"README lists {name} but /metrics has no such series")
        test.assertEqual(metrics.types[name], row["type"], name)
        own = {name} | {name + suffix for suffix in _FAMILY_SUFFIXES.get(row["type"], ())}
        seen = set()
        for n, labels, _ in metrics.samples:
            if n in own:
                seen.update(labels)
        test.assertEqual(seen, row["labels"], name)
    return rows


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {labels}, value)] plus {name: type} from the text format."""
    samples, types = [], {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparseable line: {line!r}")
        labels = {k: v for k, v in _LABEL.findall(m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples, types


class Metrics:
    def __init__(self, text):
        self.text = text
        self.samples, self.types = parse_metrics(text)

    def find(self, name, **labels):
        return [(l, v) for n, l, v in self.samples
                if n == name and all(l.get(k) == str(x) for k, x in labels.items())]

    def value(self, name, **labels):
        found = self.find(name, **labels)
        if len(found) != 1:
            raise AssertionError(f"{name}{labels}: expected one sample, found {len(found)}")
        return found[0][1]

    def names(self):
        return {n for n, _, _ in self.samples}


class Exporter:
    """The exporter daemon on a free loopback port with a short poll interval."""

    def __init__(self, bootstrap, extra_yaml="", poll_interval="2s", poll_timeout="1500ms",
                 collector="kafka"):
        """bootstrap=None runs without the Kafka collector (extra_yaml then configures the
        others); `collector` is the one wait_for_poll_after() watches."""
        self.port = free_port()
        self.collector = collector
        self.dir = tempfile.mkdtemp(prefix="khe-exporter-")
        self.config = os.path.join(self.dir, "config.yaml")
        with open(self.config, "w") as f:
            if bootstrap is None:
                f.write("kafka:\n  enabled: false\n")
            else:
                f.write(f"kafka:\n  servers: [{bootstrap}]\n"
                        f"  poll_interval: {poll_interval}\n  poll_timeout: {poll_timeout}\n")
            f.write(extra_yaml)
        self.log_path = os.path.join(self.dir, "exporter.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [EXPORTER, "--config", self.config, "--web.listen-address", f"127.0.0.1:{self.port}"],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        atexit.register(self._kill_if_running)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exporter exited with {self.proc.returncode}: {self.logs()}")
            try:
                if self.get("/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"exporter not ready after 60 s: {self.logs()}")

    def _kill_if_running(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def logs(self):
        if not self.log_file.closed:
            self.log_file.flush()
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def get(self, path, timeout=5, headers=None):
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def metrics(self, timeout=5):
        status, body, headers = self.get("/metrics", timeout=timeout,
                                         headers={"Accept-Encoding": "gzip"})
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return Metrics(body.decode())

    def wait_for_poll_after(self, t, timeout=30):
        """Metrics from a collection that finished after unix time t."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.metrics()
            found = m.find("kafka_hub_exporter_collector_last_success_timestamp_seconds",
                           collector=self.collector)
            if found and found[0][1] > t:
                return m
            time.sleep(0.3)
        raise AssertionError(f"no successful collection after {t} within {timeout} s:\n"
                             f"{self.logs()}")

    def wait_until(self, predicate, timeout=60, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.metrics()
            if predicate(last):
                return last
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.logs()}")

    def stop(self):
        stop_process(self.proc)
        self.log_file.close()
        return self.proc.returncode
