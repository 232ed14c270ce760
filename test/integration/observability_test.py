"""The dashboards and alert rules against the real thing: a local Kafka 3.6.1 cluster in ZooKeeper
mode (3 ZooKeeper servers, 3 brokers with the Jolokia agent), traffic from kafka-hub-loadgen,
kafka-hub-exporter watching it (consumer lag, ZooKeeper, the JMX bridge with
config/jmx/kafka-broker.yaml, one Jolokia target per broker labelled with the broker id, the
end-to-end probe), and a real Prometheus server (Debian package) scraping the exporter with the
rule files of alerts/ loaded.

1. Before any fault, the alerts under test are neither firing nor pending, and every rule
   evaluates without error.
2. SIGKILL broker 1: KafkaBrokerDown{broker="1"}, KafkaUnderReplicatedPartitions (on the brokers
   that lead its followers' partitions) and KafkaHubExporterJmxTargetDown{broker="1"} fire;
   broker 1 started again: they resolve.
3. SIGSTOP two of the three ZooKeeper servers: ZookeeperNoQuorum and ZookeeperServerDown fire;
   SIGCONT: they resolve.
4. The consumer of group llm-archiver stopped (before phase 2, so that its lag ages while the
   other faults run): KafkaConsumerGroupStopped, KafkaConsumerLagHigh and
   KafkaConsumerLagSecondsHigh fire for that group; the consumer started again: they resolve.
5. Every query of every dashboard panel, with the dashboard's variables substituted the way
   Grafana would (All, and then each variable set to one of its real values), returns at least
   one series; every selector in it matches series unless the README catalogue lists its
   metric as conditional.

Time budget: the test copies the rule files and divides every `for:` by FOR_DIVISOR (5m becomes
10 s), and Prometheus scrapes and evaluates every 2 s. Thresholds stay as they are, which is why
the lag in seconds phase waits for the stopped group's oldest message to become 5 minutes old.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "dashboards"))
from khe_testlib import REPO, Cluster, Exporter, free_port, log, read_catalogue, stop_process  # noqa: E402
import promql_lite  # noqa: E402

PROMETHEUS = os.environ.get("KHE_PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("KHE_PROMTOOL", "/usr/bin/promtool")
JMX_RULES = os.path.join(REPO, "config", "jmx", "kafka-broker.yaml")
SCRAPE_SECONDS = 2
FOR_DIVISOR = 30
RATE_INTERVAL = "30s"  # what Grafana's $__rate_interval would be for a short dashboard range
LAG_SECONDS_THRESHOLD = 300  # alerts/kafka-consumer-lag.yaml, KafkaConsumerLagSecondsHigh


def scaled_rules(target_dir):
    """Copies alerts/*.yaml with every `for:` divided by FOR_DIVISOR (at least 1 s unless 0)."""
    units = {"s": 1, "m": 60, "h": 3600}
    os.makedirs(target_dir)
    for path in sorted(glob.glob(os.path.join(REPO, "alerts", "*.yaml"))):
        with open(path) as f:
            text = f.read()

        def shorter(m):
            seconds = int(m.group(2)) * units[m.group(3)]
            scaled = 0 if seconds == 0 else max(1, seconds // FOR_DIVISOR)
            return f"{m.group(1)}{scaled}s"

        text, n = re.subn(r"^(\s+for: )(\d+)([smh])\s*$", shorter, text, flags=re.M)
        if n == 0:
            raise AssertionError(f"{path}: no `for:` to shorten")
        with open(os.path.join(target_dir, os.path.basename(path)), "w") as f:
            f.write(text)
    p = subprocess.run([PROMTOOL, "check", "rules", *glob.glob(os.path.join(target_dir, "*.yaml"))],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"shortened rules do not load: {p.stdout}{p.stderr}")


def grafana_regex_escape(value):
    """A variable value the way Grafana puts it in a Prometheus =~ matcher: regex metacharacters
    escaped with a backslash, itself doubled inside the PromQL string."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


class Prometheus:
    """A real Prometheus server on a free loopback port with temporary storage."""

    def __init__(self, exporter_port, rules_dir):
        self.dir = tempfile.mkdtemp(prefix="khe-prometheus-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"global:\n  scrape_interval: {SCRAPE_SECONDS}s\n  scrape_timeout: {SCRAPE_SECONDS - 1}s\n"
                    f"  evaluation_interval: {SCRAPE_SECONDS}s\n"
                    f"rule_files: ['{rules_dir}/*.yaml']\n"
                    f"scrape_configs:\n  - job_name: kafka-hub-exporter\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{exporter_port}']\n")
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1d",
             "--log.level=warn"],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.logs()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"prometheus not ready after 60 s: {self.logs()}")

    def logs(self):
        self.log_file.flush()
        with open(self.log_path) as f:
            return f.read()[-3000:]

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr):
        data = self.api("query", query=expr)
        if data["resultType"] != "vector":
            raise AssertionError(f"{expr}: {data['resultType']} result, expected a vector")
        return data["result"]

    def alerts(self):
        return self.api("alerts")["alerts"]

    def matching(self, name, state=None, **labels):
        return [a for a in self.alerts() if a["labels"].get("alertname") == name
                and (state is None or a["state"] == state)
                and all(a["labels"].get(k) == v for k, v in labels.items())]

    def wait_firing(self, name, timeout, since, **labels):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.matching(name, "firing", **labels)
            if found:
                log(f"{name}{labels or ''} firing {time.time() - since:.0f} s after the fault: "
                    f"{found[0]['annotations'].get('summary')}")
                return found
            time.sleep(1)
        raise AssertionError(f"{name}{labels} not firing after {timeout} s; alerts now: "
                             f"{self.summary()}")

    def wait_resolved(self, name, timeout, since, **labels):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.matching(name, **labels):
                log(f"{name}{labels or ''} resolved {time.time() - since:.0f} s after the repair")
                return
            time.sleep(1)
        raise AssertionError(f"{name}{labels} still active after {timeout} s: {self.summary()}")

    def summary(self):
        return sorted(f"{a['labels']['alertname']}{{{','.join(f'{k}={v}' for k, v in sorted(a['labels'].items()) if k not in ('alertname', 'severity'))}}} {a['state']}"
                      for a in self.alerts())

    def rule_errors(self):
        bad = []
        for group in self.api("rules")["groups"]:
            for rule in group["rules"]:
                if rule.get("health") != "ok":
                    bad.append(f"{group['name']}/{rule.get('name')}: {rule.get('health')} "
                               f"{rule.get('lastError')}")
        return bad

    def stop(self):
        stop_process(self.proc)
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# The alerts the faults below must fire, and which therefore must be quiet before them.
UNDER_TEST = ("KafkaBrokerDown", "KafkaUnderReplicatedPartitions", "KafkaHubExporterJmxTargetDown",
              "ZookeeperNoQuorum", "ZookeeperServerDown", "KafkaConsumerGroupStopped",
              "KafkaConsumerLagHigh", "KafkaConsumerLagSecondsHigh")


class DashboardsAndAlertsOnALiveCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in (PROMETHEUS, PROMTOOL):
            if not os.path.exists(tool):
                raise AssertionError(f"{tool} missing: install the Debian package prometheus")
        cls.work = tempfile.mkdtemp(prefix="khe-observability-")
        cls.rules_dir = os.path.join(cls.work, "rules")
        scaled_rules(cls.rules_dir)
        cls.started = time.time()
        cls.cluster = c = Cluster(mode="zk", brokers=3, zookeepers=3, extra=["--jolokia"],
                                  prefix="khe-it-obs")
        cls.exporter = cls.prometheus = cls.archiver = None
        try:
            log(f"cluster up in {time.time() - cls.started:.0f} s")
            for topic, partitions in (("llm-events", "6"), ("llm-metrics", "3")):
                c.loadgen("create-topics", "--topic", topic, "--partitions", partitions,
                          "--replication", "3", "--config", "min.insync.replicas=2")
            c.loadgen_background("produce", "--topic", "llm-events", "--messages", "0",
                                 "--rate", "600")
            c.loadgen_background("produce", "--topic", "llm-metrics", "--messages", "0",
                                 "--rate", "60")
            c.loadgen_background("consume", "--group", "llm-analytics-group", "--topic", "llm-events",
                                 "--topic", "llm-metrics", "--client-id", "analytics")
            cls.archiver = c.loadgen_background("consume", "--group", "llm-archiver", "--topic",
                                                "llm-events", "--client-id", "archiver")
            env = c.env
            servers = ", ".join(env[f"ZOOKEEPER_{n}_ADDR"] for n in (1, 2, 3))
            targets = "".join(f"    - {{url: '{env[f'BROKER_{i}_JOLOKIA_URL']}', broker: '{i}'}}\n"
                              for i in range(3))
            cls.exporter = Exporter(
                c.bootstrap, poll_interval="2s", poll_timeout="1500ms",
                extra_yaml=("  cluster_name: llm-hub\n"
                            f"zookeeper:\n  servers: [{servers}]\n  poll_interval: 2s\n"
                            "  poll_timeout: 1500ms\n  connect_timeout: 500ms\n  read_timeout: 1s\n"
                            f"jmx:\n  rules_file: {JMX_RULES}\n  poll_interval: 3s\n"
                            f"  poll_timeout: 2s\n  read_timeout: 1500ms\n  targets:\n{targets}"
                            "probe:\n  enabled: true\n"))
            cls.prometheus = Prometheus(cls.exporter.port, cls.rules_dir)
            cls.wait_for_data()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def wait_for_data(cls):
        """Until Prometheus has every source's series: the three JMX targets up, the ZooKeeper
        quorum, both groups' lag."""
        p, deadline = cls.prometheus, time.time() + 180
        checks = {
            "exporter scraped": "up{job='kafka-hub-exporter'} == 1",
            "3 JMX targets up": "count(kafka_hub_exporter_jmx_target_up == 1) == 3",
            "3 brokers in the metadata": "count(kafka_broker_info) == 3",
            "ZooKeeper quorum": "zookeeper_ensemble_has_quorum == 1",
            "lag of llm-archiver": "kafka_consumergroup_group_max_lag{group='llm-archiver'}",
            "lag of llm-analytics-group": "kafka_consumergroup_group_max_lag{group='llm-analytics-group'}",
            "messages in on broker 1": "rate(kafka_server_brokertopicmetrics_messagesinpersec{broker='1', topic=''}[30s]) > 0",
            "probe messages received from every leader":
                "count(rate(kafka_probe_messages_received_total[30s]) > 0) == 3",
        }
        while True:
            missing = [what for what, expr in checks.items() if not p.query(expr)]
            if not missing:
                log(f"Prometheus has every source {time.time() - cls.started:.0f} s into the test")
                return
            if time.time() > deadline:
                raise AssertionError(f"no data for {missing} after 180 s:\n{cls.exporter.logs()}")
            time.sleep(2)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "prometheus", None):
            cls.prometheus.stop()
        if getattr(cls, "exporter", None):
            cls.exporter.stop()
            shutil.rmtree(cls.exporter.dir, ignore_errors=True)
        cluster = getattr(cls, "cluster", None)
        if cluster:
            for n in (2, 3):  # a failed ZooKeeper phase may have left them frozen
                subprocess.run([os.path.join(REPO, "test", "cluster", "cluster"), "resume", "--dir",
                                cluster.dir, "zookeeper", str(n)], capture_output=True, timeout=60)
            cluster.close()
            subprocess.run([os.path.join(REPO, "test", "cluster", "cluster"), "down", "--dir",
                            cluster.dir, "--purge"], capture_output=True, timeout=120)
        shutil.rmtree(getattr(cls, "work", ""), ignore_errors=True)
        log(f"test ran {time.time() - getattr(cls, 'started', time.time()):.0f} s")

    # --- 1 to 4: alerts ------------------------------------------------------------------------

    def test_1_alerts_fire_on_faults_and_resolve(self):
        p, c = self.prometheus, self.cluster

        # Rules have been evaluated on real data for a while: quiet, and no evaluation error.
        time.sleep(10 * SCRAPE_SECONDS)
        self.assertEqual(p.rule_errors(), [], "rules that fail to evaluate on real series")
        active = [a for a in p.alerts() if a["labels"]["alertname"] in UNDER_TEST]
        self.assertEqual(active, [], "alerts under test active before any fault")
        log(f"healthy cluster, alerts active anyway (thresholds for a production host): {p.summary()}")

        # The consumer of llm-archiver stops now; its lag ages while the other faults run.
        self.archiver.send_signal(signal.SIGTERM)
        self.archiver.wait(timeout=60)
        lag_stopped = time.time()
        log("llm-archiver's consumer stopped")

        # Broker 1 dies.
        c.ctl("kill", "broker", "1")
        t0 = time.time()
        try:
            p.wait_firing("KafkaBrokerDown", 120, t0, broker="1")
            found = p.wait_firing("KafkaUnderReplicatedPartitions", 120, t0)
            self.assertTrue({a["labels"]["broker"] for a in found} <= {"0", "2"}, found)
            p.wait_firing("KafkaHubExporterJmxTargetDown", 120, t0, broker="1")
        finally:
            c.ctl("start", "broker", "1")
        t1 = time.time()
        log(f"broker 1 started again in {t1 - t0:.0f} s after the kill")
        for name, labels in (("KafkaBrokerDown", {"broker": "1"}),
                             ("KafkaUnderReplicatedPartitions", {}),
                             ("KafkaHubExporterJmxTargetDown", {"broker": "1"})):
            p.wait_resolved(name, 240, t1, **labels)

        # Two of three ZooKeeper servers freeze.
        frozen = []
        try:
            for n in (2, 3):
                c.ctl("stop", "zookeeper", str(n))
                frozen.append(n)
            t0 = time.time()
            p.wait_firing("ZookeeperNoQuorum", 120, t0)
            for n in (2, 3):
                p.wait_firing("ZookeeperServerDown", 120, t0, server=c.env[f"ZOOKEEPER_{n}_ADDR"])
        finally:
            for n in frozen:
                c.ctl("resume", "zookeeper", str(n))
        t1 = time.time()
        p.wait_resolved("ZookeeperNoQuorum", 180, t1)
        p.wait_resolved("ZookeeperServerDown", 180, t1)
        c.ctl("wait")  # every broker serves again before the lag phase relies on them

        # The stopped group: STOP and lag in messages first, lag in seconds once the oldest
        # unread message is older than the rule's threshold.
        since = lag_stopped
        p.wait_firing("KafkaConsumerGroupStopped", 300, since, group="llm-archiver", topic="llm-events")
        p.wait_firing("KafkaConsumerLagHigh", 300, since, group="llm-archiver")
        remaining = lag_stopped + LAG_SECONDS_THRESHOLD + 120 - time.time()
        p.wait_firing("KafkaConsumerLagSecondsHigh", max(remaining, 60), since, group="llm-archiver")
        for name in ("KafkaConsumerGroupStopped", "KafkaConsumerLagHigh", "KafkaConsumerLagSecondsHigh"):
            self.assertEqual(p.matching(name, group="llm-analytics-group"), [],
                             f"{name} fired for the group that kept consuming")

        # The consumer comes back and catches up.
        c.loadgen_background("consume", "--group", "llm-archiver", "--topic", "llm-events",
                             "--client-id", "archiver")
        t1 = time.time()
        for name in ("KafkaConsumerGroupStopped", "KafkaConsumerLagHigh", "KafkaConsumerLagSecondsHigh"):
            p.wait_resolved(name, 180, t1, group="llm-archiver")

        leftover = [a for a in p.alerts() if a["labels"]["alertname"] in UNDER_TEST]
        self.assertEqual(leftover, [], "alerts under test still active after everything came back")
        self.assertEqual(p.rule_errors(), [], "rules that fail to evaluate on real series")
        log(f"after recovery, alerts active: {p.summary()}")

    # --- 5: dashboards -------------------------------------------------------------------------

    def label_values(self, selector, label):
        data = self.prometheus.api(f"label/{label}/values", **{"match[]": selector,
                                                                "start": str(time.time() - 600)})
        return sorted(data)

    def test_2_every_dashboard_query_returns_series(self):
        p = self.prometheus
        conditional = {n for n, row in read_catalogue().items() if row["conditional"]}
        problems, checked, selector_checks = [], 0, 0
        for path in sorted(glob.glob(os.path.join(REPO, "dashboards", "*.json"))):
            with open(path) as f:
                d = json.load(f)
            name = os.path.basename(path)
            # Variables in order, the way Grafana resolves them: All is `.*`.
            all_values, real_values = {}, {}
            for v in d["templating"]["list"]:
                if v["type"] != "query":
                    continue
                m = re.match(r"^label_values\((.+),\s*(\w+)\)$", v["query"])
                selector = promql_lite.substitute(m.group(1), all_values)
                values = self.label_values(selector, m.group(2))
                all_values[v["name"]] = v["allValue"]
                if v["name"] in ("cluster", "namespace"):
                    self.assertEqual(values, [], f"{name}: this Prometheus has no {v['name']} label")
                else:
                    self.assertTrue(values, f"{name}: variable {v['name']} has no values "
                                            f"({v['query']} -> {selector})")
                    real_values[v["name"]] = values
            log(f"{name}: variables {', '.join(f'{k}={vs}' for k, vs in real_values.items())}")
            # All, then each variable on one real value (a wrong label name in a matcher is
            # invisible with `.*`, which also matches a missing label).
            settings = [("All", dict(all_values))]
            for var, values in real_values.items():
                one = dict(all_values)
                one[var] = grafana_regex_escape(values[0])
                settings.append((f"{var}={values[0]}", one))
            for panel in d["panels"]:
                if panel["type"] == "row":
                    continue
                for t in panel["targets"]:
                    used = promql_lite.variables(t["expr"])
                    for label, values in settings:
                        var = label.split("=")[0]
                        if label != "All" and var not in used:
                            continue
                        expr = promql_lite.substitute(t["expr"], values, rate_interval=RATE_INTERVAL,
                                                      range_="15m")
                        checked += 1
                        try:
                            result = p.query(expr)
                        except AssertionError as e:
                            problems.append(f"{name} '{panel['title']}' {t['refId']} [{label}]: {e}")
                            continue
                        if not result:
                            problems.append(f"{name} '{panel['title']}' {t['refId']} [{label}]: "
                                            f"no series for {expr}")
                        if label != "All":
                            continue
                        # Every selector on its own: `or vector(0)` must not hide a wrong name.
                        for sel in promql_lite.selectors(t["expr"]):
                            if sel.name in conditional:
                                continue
                            matchers = ", ".join(f'{k}{op}"{v}"' for k, op, v in sel.matchers)
                            alone = promql_lite.substitute(f"count({sel.name}{{{matchers}}})", values)
                            selector_checks += 1
                            if not p.query(alone):
                                problems.append(f"{name} '{panel['title']}': {alone} matches nothing")
        log(f"{checked} dashboard queries and {selector_checks} selectors evaluated")
        self.assertEqual(problems, [], "dashboard queries without data:\n" + "\n".join(problems))


if __name__ == "__main__":
    unittest.main(verbosity=2)
