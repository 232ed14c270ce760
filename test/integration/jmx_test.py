"""The JMX bridge against the real thing: three Kafka 3.6.1 brokers, each with the Jolokia agent
(what the exporter reads) AND jmx_exporter 0.20.0's javaagent (the oracle), each broker's
jmx_exporter loaded with a different rules file; the three ZooKeeper nodes likewise, with
config/jmx/zookeeper.yaml. For every rules file the exporter (reading
that broker through Jolokia with the same file) must produce the same series as jmx_exporter:
names, labels, types, and values (a value must lie between two jmx_exporter reads taken just
before and just after ours, within a small tolerance). Then the faults: a SIGSTOPped broker's
target turns up 0 within the timeout while the other targets keep reporting.
"""

import math
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import CLUSTER, EXPORTER, REPO, Cluster, Exporter, Metrics, assert_catalogue, log  # noqa: E402

# Broker i's jmx_exporter loads RULES[i]; the exporter uses the same file for broker i.
RULES = [
    os.path.join(REPO, "config", "jmx", "kafka-broker.yaml"),
    os.path.join(REPO, "test", "data", "jmx", "rules", "default-naming.yaml"),
    os.path.join(REPO, "test", "data", "jmx", "rules", "labels-factor-type.yaml"),
]
ZOOKEEPER_RULES = os.path.join(REPO, "config", "jmx", "zookeeper.yaml")
# What jmx_exporter's agent adds besides the rules' series; compared separately.
AGENT_PREFIXES = ("jvm_", "process_", "jmx_")
# Our JVM series that are not in jmx_exporter 0.20.0's output by design (jvm_families.h).
OURS_ONLY_JVM = {"jvm_process_cpu_seconds_total", "jvm_process_open_fds", "jvm_process_max_fds",
                 "jvm_process_virtual_memory_bytes", "jvm_process_start_time_seconds"}
# jmx_exporter agent series that JMX cannot provide remotely (jvm_families.h says why).
AGENT_ONLY = {"jvm_threads_state", "jvm_threads_deadlocked", "jvm_threads_deadlocked_monitor",
              "jvm_memory_pool_allocated_bytes_total", "jvm_memory_pool_allocated_bytes_created",
              "process_resident_memory_bytes", "jvm_buffer_pool_used_buffers_created",
              "jvm_classes_loaded_total_created", "jvm_threads_started_total_created",
              "jvm_gc_collection_seconds_created"}
# Values that move on their own between two reads without being monotonic (memory in use goes
# up and down with every allocation and GC; histogram snapshots change with every replica fetch):
# only their presence, labels and type are compared exactly, their values loosely. Counters,
# gauges of partition state and the 5-second-tick rates are compared exactly (bracketed).
VOLATILE = re.compile(r"(memoryusage|usage_|_usage|memorypool|memory_bytes|memory_pool|buffer_pool|"
                      r"bufferpool|memoryused|totalcapacity|lastgcinfo|free|cpuload|cpu_load|"
                      r"loadaverage|load_average|threadcount|thread_count|threads_|classes|classcount|"
                      r"finalization|committedvirtual|processcputime|cpu_seconds|filedescriptor|"
                      r"_fds|idle|percentile|mean$|_max$|_min$|stddev|maxlag|max_lag)")


# Relative tolerance on top of the bracket between the two oracle reads.
TOLERANCE = 0.02


def http_get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def family_types(metrics):
    """Sample name -> type, resolving suffixes the way the text format groups them."""
    out = {}
    suffixes = {"_total": ("counter",), "_created": ("counter", "summary", "histogram"),
                "_count": ("summary", "histogram"), "_sum": ("summary", "histogram"),
                "_bucket": ("histogram",)}
    for name, _, _ in metrics.samples:
        kind = metrics.types.get(name)
        if kind is None:
            # A suffixed sample belongs to the family without the suffix only when that family's
            # type has such samples (Prometheus' reading); otherwise it has no metadata: untyped.
            for suffix, kinds in suffixes.items():
                base = name[: -len(suffix)]
                if name.endswith(suffix) and metrics.types.get(base) in kinds:
                    kind = metrics.types[base]
                    break
        out[name] = kind or "untyped"
    return out


def series(metrics, keep):
    return {(n, tuple(sorted(l.items()))): v for n, l, v in metrics.samples if keep(n)}


def is_volatile(key):
    name, labels = key
    return bool(VOLATILE.search(name.lower())) or any(k == "quantile" for k, _ in labels)


def within(value, a, b):
    if math.isnan(value) or math.isnan(a) or math.isnan(b):
        return math.isnan(value) and (math.isnan(a) or math.isnan(b))
    lo, hi = min(a, b), max(a, b)
    slack = TOLERANCE * max(abs(lo), abs(hi), 1.0)
    return lo - slack <= value <= hi + slack


def rules_series(name):
    return not name.startswith(AGENT_PREFIXES) and not name.startswith("kafka_hub_exporter_")


class JmxBridgeAgainstJmxExporter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in RULES:
            if not os.path.isfile(path):
                raise AssertionError(f"rules file missing: {path}")
        jar = subprocess.run([CLUSTER, "fetch", "--jmx-exporter"], capture_output=True, text=True,
                             check=True, timeout=600).stdout.strip().splitlines()[-1]
        # {id} picks each broker's rules file through a per-broker symlink.
        cls.rules_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"khe-jmx-rules-{os.getpid()}")
        os.makedirs(cls.rules_dir, exist_ok=True)
        for i, path in enumerate(RULES):
            link = os.path.join(cls.rules_dir, f"rules-{i}.yaml")
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(path, link)
        cls.cluster = Cluster(mode="zk", brokers=3, zookeepers=3, prefix="khe-it-jmx",
                              extra=["--jolokia", "--javaagent",
                                     f"{jar}={{port}}:{cls.rules_dir}/rules-{{id}}.yaml",
                                     "--zk-jolokia", "--zk-javaagent", f"{jar}={{port}}:{ZOOKEEPER_RULES}"])
        env = cls.cluster.env
        cls.jolokia = [env[f"BROKER_{i}_JOLOKIA_URL"] for i in range(3)]
        cls.agent = [f"http://127.0.0.1:{p}/metrics" for p in env["JAVAAGENT_PORTS"].split(",")]
        cls.zk_jolokia = [env[f"ZOOKEEPER_{i}_JOLOKIA_URL"] for i in range(1, 4)]
        cls.zk_agent = [f"http://127.0.0.1:{p}/metrics" for p in env["ZK_JAVAAGENT_PORTS"].split(",")]
        c = cls.cluster
        c.loadgen("create-topics", "--topic", "orders", "--partitions", "6", "--replication", "3")
        c.loadgen("create-topics", "--topic", "payments", "--partitions", "3", "--replication", "2")
        c.loadgen("produce", "--topic", "orders", "--messages", "300", "--per-partition")
        c.loadgen("produce", "--topic", "payments", "--messages", "100", "--per-partition")
        c.loadgen("consume", "--group", "jmx-readers", "--topic", "orders", "--max-messages", "900")
        # Traffic over: counters stand still, rates only decay, so the bracket below is tight.
        time.sleep(2)


    def exporter_once(self, broker, extra=(), jolokia=None, rules=None):
        cmd = [EXPORTER, "--once", "--jolokia.url", jolokia or self.jolokia[broker],
               "--jmx.config", rules or RULES[broker], *extra]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, f"{' '.join(cmd)}:\n{p.stderr[-3000:]}")
        return Metrics(p.stdout)

    def compare(self, broker, agent=None, jolokia=None, rules=None, at_least=20):
        agent = agent or self.agent[broker]
        rules = rules or RULES[broker]
        before = Metrics(http_get(agent))
        ours = self.exporter_once(broker, jolokia=jolokia, rules=rules)
        after = Metrics(http_get(agent))
        name = os.path.basename(rules)

        theirs_series = series(before, rules_series)
        theirs_after = series(after, rules_series)
        ours_series = series(ours, rules_series)
        self.assertGreater(len(theirs_series), at_least, f"{name}: jmx_exporter produced almost nothing")
        # Series that appeared or vanished between the two oracle reads are not comparable.
        stable = set(theirs_series) & set(theirs_after)
        missing = sorted(k for k in stable if k not in ours_series)
        extra = sorted(k for k in ours_series if k not in theirs_series and k not in theirs_after)
        self.assertEqual(missing, [], f"{name}: series jmx_exporter has and we do not")
        self.assertEqual(extra, [], f"{name}: series we have and jmx_exporter does not")

        their_types, our_types = family_types(before), family_types(ours)
        wrong_types = sorted((n, our_types[n], their_types[n]) for n, _ in ours_series
                             if n in their_types and our_types[n] != their_types[n])
        self.assertEqual(wrong_types, [], f"{name}: (series, our type, jmx_exporter's type)")

        wrong_values = []
        for key in stable:
            if key not in ours_series or is_volatile(key):
                continue
            if not within(ours_series[key], theirs_series[key], theirs_after[key]):
                wrong_values.append((key, ours_series[key], theirs_series[key], theirs_after[key]))
        # Volatile series still have to be close most of the time: a gross mapping error (a
        # wrong attribute, a missing valueFactor) is far off, not 2% off.
        far_off = []
        for key in stable:
            if key not in ours_series or not is_volatile(key):
                continue
            a, b, v = theirs_series[key], theirs_after[key], ours_series[key]
            if any(math.isnan(x) for x in (a, b, v)):
                if not (math.isnan(v) and (math.isnan(a) or math.isnan(b))):
                    far_off.append((key, v, a, b))
                continue
            scale = max(abs(a), abs(b), 1.0)
            if abs(v - a) > scale and abs(v - b) > scale:
                far_off.append((key, v, a, b))
        log(f"{name}: {len(stable)} series compared, {sum(1 for k in stable if is_volatile(k))} "
            f"volatile; values off: {len(wrong_values)}, volatile far off: {len(far_off)}")
        self.assertEqual(wrong_values, [], f"{name}: (series, ours, jmx_exporter before, after)")
        self.assertLessEqual(len(far_off), max(2, len(stable) // 50),
                             f"{name}: volatile series far from jmx_exporter's: {far_off[:20]}")
        return before, ours

    def test_kafka_broker_rules(self):
        before, ours = self.compare(0)
        for seed_name in ("kafka_server_brokertopicmetrics_messagesinpersec",
                          "kafka_server_brokertopicmetrics_bytesinpersec",
                          "kafka_server_replicamanager_underreplicatedpartitions",
                          "kafka_controller_kafkacontroller_activecontrollercount",
                          "java_lang_memory_heapmemoryusage_used",
                          "java_lang_garbagecollector_collectiontime"):
            self.assertTrue(ours.find(seed_name), f"seed metric {seed_name} missing")

    def test_default_naming_rules(self):
        self.compare(1)

    def test_labels_factor_type_rules(self):
        self.compare(2)

    def test_zookeeper_rules(self):
        """config/jmx/zookeeper.yaml on each ensemble member (the leader has other beans)."""
        for i in range(3):
            before, ours = self.compare(None, agent=self.zk_agent[i], jolokia=self.zk_jolokia[i],
                                        rules=ZOOKEEPER_RULES, at_least=8)
            for name in ("zookeeper_quorumsize", "zookeeper_outstandingrequests",
                         "zookeeper_avgrequestlatency", "zookeeper_inmemorydatatree_nodecount",
                         "zookeeper_packetsreceived_total"):
                self.assertTrue(ours.find(name), f"zookeeper {i + 1}: {name} missing")
            self.assertEqual(ours.value("zookeeper_quorumsize"), 3)

    def test_jvm_series_match_the_agents(self):
        before = Metrics(http_get(self.agent[0]))
        ours = self.exporter_once(0)
        theirs = series(before, lambda n: n.startswith(("jvm_", "process_")))
        our_jvm = series(ours, lambda n: n.startswith("jvm_"))
        their_names = {k[0] for k in theirs}
        our_names = {k[0] for k in our_jvm}
        self.assertEqual(sorted(our_names - their_names - OURS_ONLY_JVM), [],
                         "JVM series of ours that jmx_exporter's agent does not have")
        not_ours = their_names - our_names
        self.assertEqual(sorted(n for n in not_ours if not n.startswith("process_") and n not in AGENT_ONLY),
                         [], "JVM series of jmx_exporter's agent we do not produce")
        # Same labels for the same names; and what cannot move, equal.
        their_keys = set(theirs)
        for key, value in our_jvm.items():
            if key[0] in OURS_ONLY_JVM:
                continue
            self.assertIn(key, their_keys, f"{key}: no such series from jmx_exporter's agent")
            if key[0].endswith(("_max", "_init")) or key[0] == "jvm_info":
                self.assertEqual(value, theirs[key], key)
        their_types, our_types = family_types(before), family_types(ours)
        for name in our_names - OURS_ONLY_JVM:
            self.assertEqual(our_types[name], their_types[name], name)
        # The broker's process, under our names.
        self.assertEqual(ours.value("jvm_process_max_fds"), before.value("process_max_fds"))
        self.assertAlmostEqual(ours.value("jvm_process_start_time_seconds"),
                               before.value("process_start_time_seconds"), delta=1.0)

    def test_counter_naming_1x_appends_total(self):
        """0.20 naming: a COUNTER rule named without _total is exposed untyped (as Prometheus reads
        jmx_exporter 0.20's text format); 1.x naming: the same series as counters named ..._total."""
        ours = self.exporter_once(2)
        config = os.path.join(self.rules_dir, "counter-1x.yaml")
        with open(config, "w") as f:
            f.write(f"kafka: {{enabled: false}}\njmx:\n  counter_naming: '1.x'\n  rules_file: {RULES[2]}\n"
                    f"  targets: [{{url: '{self.jolokia[2]}'}}]\n")
        p = subprocess.run([EXPORTER, "--once", "--config", config], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        renamed = Metrics(p.stdout)
        old_types, new_types = family_types(ours), family_types(renamed)
        appended = [n for n, t in new_types.items()
                    if t == "counter" and rules_series(n) and n[: -len("_total")] in old_types]
        self.assertTrue(appended, "the labels-factor-type rules should have a COUNTER named without _total")
        for name in appended:
            self.assertEqual(old_types[name[: -len("_total")]], "untyped", name)
            self.assertFalse(renamed.find(name[: -len("_total")]), name)
        self.assertEqual(sorted(n for n, t in new_types.items() if t == "untyped" and rules_series(n)),
                         sorted(n for n, t in old_types.items() if t == "untyped" and rules_series(n)
                                and n + "_total" not in new_types))


def tearDownModule():
    # The cluster serves both classes: JmxBridgeFaults runs after the conformance tests.
    cluster = getattr(JmxBridgeAgainstJmxExporter, "cluster", None)
    if cluster is not None:
        cluster.close()


class JmxBridgeFaults(unittest.TestCase):
    """Runs after the conformance tests (unittest orders classes by name: Bridge... < Faults)."""

    def test_a_stopped_broker_goes_down_alone(self):
        cluster = JmxBridgeAgainstJmxExporter.cluster
        urls = JmxBridgeAgainstJmxExporter.jolokia
        targets = "".join(f"    - {{url: '{u}', broker: '{i}'}}\n" for i, u in enumerate(urls))
        exporter = Exporter(None, collector="jmx",
                            extra_yaml=(f"jmx:\n  rules_file: {RULES[0]}\n  poll_interval: 3s\n"
                                        f"  poll_timeout: 2500ms\n  read_timeout: 2s\n"
                                        f"  targets:\n{targets}"))
        try:
            # The agents' first replies can be slow (JIT, six JVMs on two cores): wait for all three.
            m = exporter.wait_until(
                lambda m: all([s[1] for s in m.find("kafka_hub_exporter_jmx_target_up", broker=str(i))] == [1]
                              for i in range(3)),
                timeout=60, what="all three targets up")
            assert_catalogue(self, m, "jmx", at_least=20)
            for i in range(3):
                self.assertEqual(m.value("kafka_hub_exporter_jmx_target_up", broker=str(i)), 1)
                self.assertTrue(m.find("kafka_server_replicamanager_leadercount", broker=str(i)))
            cluster.ctl("stop", "broker", "1")
            t0 = time.time()
            try:
                m = exporter.wait_until(
                    lambda m: m.find("kafka_hub_exporter_jmx_target_up", broker="1")
                    and m.value("kafka_hub_exporter_jmx_target_up", broker="1") == 0,
                    timeout=15, what="broker 1's target up 0")
                log(f"stopped broker's target went down after {time.time() - t0:.1f} s")
                m = exporter.wait_for_poll_after(time.time())
                self.assertEqual(m.value("kafka_hub_exporter_jmx_target_up", broker="1"), 0)
                self.assertFalse(m.find("kafka_server_replicamanager_leadercount", broker="1"))
                for i in (0, 2):
                    self.assertEqual(m.value("kafka_hub_exporter_jmx_target_up", broker=str(i)), 1)
                    self.assertTrue(m.find("kafka_server_replicamanager_leadercount", broker=str(i)))
                timeouts = m.find("kafka_hub_exporter_collector_errors_total", collector="jmx",
                                  kind="timeout")
                self.assertTrue(timeouts and timeouts[0][1] >= 1, "the stall counts as a timeout")
                self.assertLess(m.value("kafka_hub_exporter_collector_last_duration_seconds",
                                        collector="jmx"), 2.6, "one stuck agent held up the poll")
            finally:
                cluster.ctl("resume", "broker", "1")
            exporter.wait_until(
                lambda m: m.value("kafka_hub_exporter_jmx_target_up", broker="1") == 1,
                timeout=30, what="broker 1's target back up")
        finally:
            exporter.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
