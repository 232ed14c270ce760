"""The daemon's command line as a user meets it: --check-config, --once, --version, exit codes,
a dead broker, HTTP endpoints and SIGTERM. No cluster needed: a dead port stands for a dead
Kafka, which is exactly what it is."""

import gzip
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import EXPORTER, REPO, free_port  # noqa: E402


def run(*args, timeout=60):
    return subprocess.run([EXPORTER, *args], capture_output=True, text=True, timeout=timeout)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class CommandLine(unittest.TestCase):
    def test_version(self):
        p = run("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^kafka-hub-exporter \d+\.\d+\.\d+ .*librdkafka 2\.")

    def test_check_config_accepts_the_shipped_configs(self):
        p = run("--config", os.path.join(REPO, "config", "kafka-hub-exporter.reference.yaml"),
                "--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("configuration OK", p.stdout)
        # The seed's config is valid but for its secret, which exists only in the pod.
        p = run("--config", os.path.join(REPO, "config", "kafka-hub-exporter.yaml"),
                "--check-config")
        self.assertEqual(p.returncode, 2)
        self.assertRegex(p.stderr, r"kafka-hub-exporter.yaml:\d+: kafka.property_files.sasl.password: "
                         r"cannot read file '/etc/kafka-hub-exporter/sasl/password'")

    def test_check_config_reports_file_line_key(self):
        path = write("kafka:\n  servers: [a:1]\n  poll_intervall: 5s\n")
        p = run("--config", path, "--check-config")
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{path}:3: kafka.poll_intervall: unknown key", p.stderr)

    def test_check_config_never_prints_secrets(self):
        secret = write("hunter2-secret\n")
        path = write("kafka:\n  servers: [a:1]\n  properties:\n    sasl.username: bob\n"
                     "    ssl.key.password: inline-pass\n  property_files:\n"
                     f"    sasl.password: {secret}\n")
        p = run("--config", path, "--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("hunter2", p.stdout + p.stderr)
        self.assertNotIn("inline-pass", p.stdout + p.stderr)
        self.assertIn("bob", p.stdout)

    def test_bad_librdkafka_property_is_a_config_error(self):
        p = run("--kafka.server", "127.0.0.1:1", "--config",
                write("kafka:\n  properties: {security.protocol: carrier-pigeon}\n"), "--once")
        self.assertEqual(p.returncode, 2)
        self.assertIn("kafka.properties.security.protocol", p.stderr)

    def test_unknown_flag_exits_2(self):
        p = run("--kafka.servers", "a:1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown flag", p.stderr)

    def test_once_against_a_dead_broker_fails_cleanly(self):
        path = write(f"kafka:\n  servers: [127.0.0.1:{free_port()}]\n  poll_interval: 3s\n"
                     "  poll_timeout: 2s\n")
        started = time.time()
        p = run("--config", path, "--once")
        self.assertEqual(p.returncode, 1)
        self.assertLess(time.time() - started, 30, "--once must respect its deadline")
        self.assertIn('kafka_hub_exporter_collector_up{collector="kafka"} 0', p.stdout)
        self.assertIn("collection failed", p.stderr)

    def test_daemon_serves_and_stops_on_sigterm_with_a_dead_broker(self):
        port = free_port()
        path = write(f"kafka:\n  servers: [127.0.0.1:{free_port()}]\n  poll_interval: 2s\n"
                     "  poll_timeout: 1s\nlog: {format: json}\n")
        proc = subprocess.Popen([EXPORTER, "--config", path, "--web.listen-address",
                                 f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 20
            while True:
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                        self.assertEqual(r.status, 200)
                        break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.2)
            with self.assertRaises(urllib.error.HTTPError) as ctx:
                urllib.request.urlopen(base + "/readyz", timeout=2)
            self.assertEqual(ctx.exception.code, 503)
            req = urllib.request.Request(base + "/metrics", headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(req, timeout=2) as r:
                self.assertEqual(r.headers["Content-Encoding"], "gzip")
                text = gzip.decompress(r.read()).decode()
            self.assertIn("kafka_hub_exporter_build_info", text)
            with urllib.request.urlopen(base + "/", timeout=2) as r:
                self.assertIn(b'href="/metrics"', r.read())
            time.sleep(2.5)  # let one collection fail
        finally:
            proc.send_signal(15)
            proc.wait(timeout=5)
        self.assertEqual(proc.returncode, 0)
        stderr = proc.stderr.read()
        self.assertIn('"level":"warn","msg":"collector=kafka collection failed', stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
