"""The rules engine against jmx_exporter 0.20.0 itself, without a broker: for every rules file
in test/data/jmx/oracle/rules/, jmx_exporter's own JmxCollector (in a JVM, on the MBeans of the
spec the file names in its first line, `# spec: NAME.spec`) and our engine (jmx_rules_replay on
the same spec) must produce the same series: names, labels, values and types; and so must our
engine when it only sees the leaves its read planner would read.

Types are compared the way Prometheus reads simpleclient 0.16's 0.0.4 text format: a COUNTER
named `foo` is written `# TYPE foo_total counter` over samples named `foo`, which therefore have
no metadata (untyped); INFO is written `# TYPE foo_info gauge` over samples `foo`.

Needs java and javac, and jmx_prometheus_javaagent-0.20.0.jar from `test/cluster/cluster fetch
--jmx-exporter` (KHE_CACHE_DIR is honoured). KHE_JMX_REPLAY points at the jmx_rules_replay binary.
"""

import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
from khe_testlib import parse_metrics  # noqa: E402
DATA = os.path.join(REPO, "test", "data", "jmx", "oracle")
CLUSTER = os.path.join(REPO, "test", "cluster", "cluster")
REPLAY = os.environ.get("KHE_JMX_REPLAY", os.path.join(REPO, "build", "test", "jmx_rules_replay"))

# jmx_exporter's own series, not made by rules.
OWN = ("jmx_scrape_", "jmx_config_reload_")


def parse(text):
    """{(name, sorted labels): value} of the rules' series, and {name: type}."""
    parsed, types = parse_metrics(text)
    samples = {}
    for name, labels, value in parsed:
        if name.startswith(OWN):
            continue
        key = (name, tuple(sorted(labels.items())))
        if key in samples:
            raise AssertionError(f"duplicate series {key}")
        samples[key] = value
    return samples, types


def type_of(name, types):
    if name in types:
        return types[name]
    # 0.20 types a COUNTER named x as `# TYPE x_total counter` over samples named x: Prometheus
    # reads those samples as untyped, and that is what the bridge exposes. Samples named x_total
    # under that TYPE line are counters (found above).
    for suffix, kind in (("_info", "gauge"),):
        if types.get(name + suffix) == kind:
            return kind
    return "untyped"


def same_value(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def rules_files():
    folder = os.path.join(DATA, "rules")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".yaml"))


class JmxRulesAgainstJmxExporter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        jar = subprocess.run([CLUSTER, "fetch", "--jmx-exporter"], capture_output=True, text=True,
                             check=True, timeout=600).stdout.strip().splitlines()[-1]
        cls.tmp = tempfile.mkdtemp(prefix="khe-jmx-oracle-")
        subprocess.run(["javac", "-cp", jar, "-d", cls.tmp, os.path.join(HERE, "JmxRulesOracle.java")],
                       check=True, timeout=300)
        cls.classpath = f"{cls.tmp}:{jar}"
        if not os.access(REPLAY, os.X_OK):
            raise AssertionError(f"{REPLAY} not built")

    def run_case(self, rules):
        with open(rules) as f:
            first = f.readline()
        m = re.match(r"#\s*spec:\s*(\S+)", first)
        self.assertTrue(m, f"{rules}: first line must be '# spec: NAME.spec'")
        spec = os.path.join(DATA, "beans", m.group(1))
        delegate = os.path.join(self.tmp, "delegate.spec")
        java = subprocess.run(["java", "-cp", self.classpath, "JmxRulesOracle", spec, rules, delegate],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(java.returncode, 0, java.stderr[-3000:])
        self.assertNotIn("jmx_scrape_error 1.0", java.stdout, f"jmx_exporter failed a scrape: {java.stderr[-3000:]}")
        combined = os.path.join(self.tmp, "combined.spec")
        with open(combined, "w") as out, open(spec) as a, open(delegate) as b:
            out.write(a.read() + "\n" + b.read())
        theirs = parse(java.stdout)
        name = os.path.basename(rules)
        # Every leaf through the rules, then only what the planner reads: both must equal.
        for mode in ([], ["--planned"]):
            ours = subprocess.run([REPLAY, *mode, combined, rules], capture_output=True, text=True, timeout=60)
            self.assertEqual(ours.returncode, 0, ours.stderr)
            self.compare(f"{name} {' '.join(mode)}".strip(), theirs, parse(ours.stdout))
            if mode:
                print(f"{name}: {len(theirs[0])} series equal; {ours.stderr.strip()}", flush=True)
        return len(theirs[0])

    def compare(self, name, theirs, ours):
        theirs_samples, theirs_types = theirs
        our_samples, our_types = ours
        self.assertGreater(len(theirs_samples), 0, f"{name}: jmx_exporter produced nothing")
        missing = sorted(set(theirs_samples) - set(our_samples))
        extra = sorted(set(our_samples) - set(theirs_samples))
        self.assertEqual(missing, [], f"{name}: series jmx_exporter has and we do not")
        self.assertEqual(extra, [], f"{name}: series we have and jmx_exporter does not")
        wrong = [(k, our_samples[k], v) for k, v in theirs_samples.items() if not same_value(our_samples[k], v)]
        self.assertEqual(wrong, [], f"{name}: (series, ours, jmx_exporter's)")
        types = sorted({(k[0], our_types.get(k[0], "untyped"), type_of(k[0], theirs_types))
                        for k in theirs_samples if our_types.get(k[0], "untyped") != type_of(k[0], theirs_types)})
        self.assertEqual(types, [], f"{name}: (name, our type, jmx_exporter's)")

    def test_every_rules_file(self):
        files = rules_files()
        self.assertGreater(len(files), 4)
        for rules in files:
            with self.subTest(rules=os.path.basename(rules)):
                self.run_case(rules)


if __name__ == "__main__":
    unittest.main(verbosity=2)
