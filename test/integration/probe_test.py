"""The end-to-end probe on a real 3-broker cluster: it creates its topic with a partition led by
every broker, its latencies are present and plausible and its counts grow; a broker killed with
SIGKILL shows as failures (or losses) on the partitions it led, and after its restart every
partition receives again; a killed probe worker is replaced without the counts going back; the
exporter's /metrics answers throughout. The README's Probe rows are checked against the output."""

import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import Cluster, Exporter, assert_catalogue, log  # noqa: E402

BROKERS = 3
# A short produce timeout: with acks=all, a message to a dead leader fails before the cluster
# elects a new one (the test cluster's ZooKeeper session timeout is 6 s).
PROBE_YAML = ("probe:\n  enabled: true\n  interval: 500ms\n  produce_timeout: 1s\n"
              "  loss_timeout: 10s\n")


def per_partition(m, name, **labels):
    """{partition: value summed over the other labels (the leader a message was sent to)}."""
    out = {}
    for l, v in m.find(name, **labels):
        out[int(l["partition"])] = out.get(int(l["partition"]), 0) + v
    return out


class Scraper(threading.Thread):
    """Scrapes /metrics all the time; counts answers that were not a 200 within 5 s."""

    def __init__(self, exporter):
        super().__init__(daemon=True)
        self.exporter, self.failures, self.scrapes, self.slowest = exporter, [], 0, 0.0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            started = time.time()
            try:
                self.exporter.metrics(timeout=5)
            except Exception as e:  # noqa: BLE001 - any failure is what we count
                self.failures.append(f"{time.strftime('%H:%M:%S')} {e!r}")
            self.slowest = max(self.slowest, time.time() - started)
            self.scrapes += 1
            self.stopping.wait(0.2)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


class EndToEndProbe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(mode="zk", brokers=BROKERS, zookeepers=1)
        try:
            cls.exporter = Exporter(cls.cluster.bootstrap, collector="probe",
                                    extra_yaml=PROBE_YAML)
        except Exception:
            cls.cluster.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "exporter"):
            cls.exporter.stop()
        cls.cluster.close()

    def wait_received(self, at_least, timeout=60, base=None):
        """Metrics once every partition received `at_least` more than in `base`."""
        base = base or {}

        def ok(m):
            got = per_partition(m, "kafka_probe_messages_received_total")
            return len(got) == BROKERS and all(got[p] - base.get(p, 0) >= at_least for p in got)
        try:
            return self.exporter.wait_until(ok, timeout=timeout,
                                            what=f"{at_least} more receipts on every partition")
        except AssertionError as e:
            m = self.exporter.metrics()
            seen = {k: per_partition(m, f"kafka_probe_messages_{k}_total")
                    for k in ("produced", "received", "failed", "lost")}
            raise AssertionError(f"{e}\nprobe counts (base {base}): {seen}\n"
                                 f"{[l for l in m.text.splitlines() if 'probe' in l and 'errors' in l]}")

    def test_1_every_broker_leads_a_partition_and_latencies_are_plausible(self):
        m = self.wait_received(10)
        self.assertEqual(m.value("kafka_probe_topic_partitions"), BROKERS)
        self.assertEqual(m.value("kafka_probe_topic_uncovered_brokers"), 0)
        for b in range(BROKERS):
            self.assertEqual(m.value("kafka_probe_broker_led_partitions", broker=b), 1, b)
        # Kafka's own view of the topic: one partition per broker, each preferred by another.
        out = self.cluster.tool("kafka.admin.TopicCommand", "--bootstrap-server",
                                self.cluster.bootstrap, "--describe", "--topic",
                                "kafka-hub-exporter-probe").stdout
        leaders = sorted(int(line.split("Leader:")[1].split()[0])
                         for line in out.splitlines() if "Leader:" in line)
        self.assertEqual(leaders, list(range(BROKERS)), out)

        for p in range(BROKERS):
            for name in ("kafka_probe_end_to_end_latency_seconds",
                         "kafka_probe_produce_latency_seconds"):
                count = sum(v for _, v in m.find(name + "_count", partition=p))
                total = sum(v for _, v in m.find(name + "_sum", partition=p))
                self.assertGreater(count, 0, (name, p))
                mean = total / count
                log(f"partition {p} {name}: {int(count)} messages, mean {mean * 1000:.1f} ms")
                self.assertGreater(mean, 0, (name, p))
                self.assertLess(mean, 5.0, (name, p))  # generous: a loaded 2-core machine
                # Cumulative buckets, +Inf equal to the count.
                for sel, _ in m.find(name + "_count", partition=p):
                    buckets = [(float(l["le"]), v) for l, v in m.find(name + "_bucket", **sel)]
                    values = [v for _, v in sorted(buckets)]
                    self.assertEqual(values, sorted(values), (name, sel))
                    self.assertEqual(m.value(name + "_bucket", le="+Inf", **sel),
                                     m.value(name + "_count", **sel))
            # Every receipt within the loss timeout is one end-to-end observation.
            self.assertEqual(
                sum(v for _, v in m.find("kafka_probe_end_to_end_latency_seconds_count",
                                         partition=p)),
                per_partition(m, "kafka_probe_messages_received_total")[p])
        self.assertGreater(m.value("kafka_probe_offset_commit_latency_seconds_count"), 0)

        # Counts grow, and what was produced is accounted for.
        before = per_partition(m, "kafka_probe_messages_received_total")
        m = self.wait_received(4, base=before, timeout=30)
        produced = per_partition(m, "kafka_probe_messages_produced_total")
        settled = {p: sum(per_partition(m, f"kafka_probe_messages_{k}_total").get(p, 0)
                          for k in ("received", "failed", "lost")) for p in produced}
        in_flight = m.value("kafka_probe_messages_in_flight")
        # In flight: sent and not settled, which includes received messages whose
        # acknowledgement is not reported yet.
        self.assertGreaterEqual(sum(produced.values()), sum(settled.values()))
        self.assertLessEqual(sum(produced.values()), sum(settled.values()) + in_flight)

    def test_2_exposition_passes_promtool_and_matches_the_readme(self):
        m = self.exporter.metrics()
        p = subprocess.run(["promtool", "check", "metrics"], input=m.text, capture_output=True,
                           text=True, timeout=60)
        probe_lint = [line for line in (p.stdout + p.stderr).splitlines()
                      if line.startswith("kafka_probe")]
        self.assertIn(p.returncode, (0, 3), p.stdout + p.stderr)
        self.assertEqual(probe_lint, [])
        rows = assert_catalogue(self, m, "probe", at_least=10)
        for name in m.types:
            if name.startswith("kafka_probe_"):
                self.assertIn(name, rows, f"{name} is on /metrics but not in the README")

    def test_3_a_killed_broker_shows_on_its_partitions_then_everything_recovers(self):
        m = self.wait_received(2, timeout=30)
        led = {int(l["broker"]): v for l, v in m.find("kafka_probe_broker_led_partitions")}
        victim = 1 if led.get(1) else max(led, key=led.get)
        victim_partitions = sorted(
            int(l["partition"]) for l, v in m.find("kafka_probe_messages_produced_total",
                                                   broker=victim)
            if m.value("kafka_probe_messages_received_total", partition=l["partition"],
                       broker=victim) > 0)
        self.assertTrue(victim_partitions, f"broker {victim} leads no probed partition")

        def bad(m):
            """Failed plus lost messages sent to the victim, per partition it led."""
            return {p: sum(v for k in ("failed", "lost")
                           for _, v in m.find(f"kafka_probe_messages_{k}_total", partition=p,
                                              broker=victim))
                    for p in victim_partitions}
        bad_before = bad(m)
        scraper = Scraper(self.exporter)
        scraper.start()
        try:
            self.cluster.ctl("kill", "broker", str(victim))
            killed_at = time.time()
            m = self.exporter.wait_until(
                lambda m: all(bad(m)[p] > bad_before[p] for p in victim_partitions),
                timeout=60, what=f"failures or losses on broker {victim}'s partitions")
            log(f"broker {victim} killed: failures/losses on its partitions {victim_partitions} "
                f"after {time.time() - killed_at:.1f} s: {bad(m)} (before {bad_before})")
            others = {l["broker"]: v for l, v in m.find("kafka_probe_messages_failed_total")
                      if l["broker"] != str(victim) and v > 0}
            log(f"failures on other leaders (acks=all waits for the dead follower too): {others}")

            self.cluster.ctl("start", "broker", str(victim))
            restarted_at = time.time()
            base = per_partition(self.exporter.metrics(), "kafka_probe_messages_received_total")
            m = self.wait_received(5, base=base, timeout=90)
            log(f"every partition receives again {time.time() - restarted_at:.1f} s after the "
                f"restart")
        finally:
            scraper.stop()
        log(f"/metrics during kill and restart: {scraper.scrapes} scrapes, slowest "
            f"{scraper.slowest * 1000:.0f} ms, failures {scraper.failures}")
        self.assertEqual(scraper.failures, [])
        self.assertGreater(scraper.scrapes, 20)
        self.assertIsNone(self.exporter.proc.poll())
        self.assertEqual(m.value("kafka_hub_exporter_collector_up", collector="probe"), 1)

    def test_4_a_killed_probe_worker_is_replaced_and_counts_carry_on(self):
        m = self.wait_received(1, timeout=30)
        before = per_partition(m, "kafka_probe_messages_produced_total")
        workers = subprocess.run(["pgrep", "-P", str(self.exporter.proc.pid), "-f",
                                  "internal.probe-worker"],
                                 capture_output=True, text=True).stdout.split()
        self.assertEqual(len(workers), 1, workers)
        os.kill(int(workers[0]), signal.SIGKILL)
        m = self.exporter.wait_until(
            lambda m: m.find("kafka_hub_exporter_collector_errors_total", collector="probe",
                             kind="worker"), timeout=30, what="the worker's death counted")
        base = per_partition(m, "kafka_probe_messages_received_total")
        m = self.wait_received(3, base=base, timeout=60)
        after = per_partition(m, "kafka_probe_messages_produced_total")
        for p in before:
            self.assertGreater(after[p], before[p], p)
        new_workers = subprocess.run(["pgrep", "-P", str(self.exporter.proc.pid), "-f",
                                      "internal.probe-worker"],
                                     capture_output=True, text=True).stdout.split()
        self.assertEqual(len(new_workers), 1)
        self.assertNotEqual(new_workers, workers)
        self.assertIn("probe worker restarted", self.exporter.logs())

    def test_5_an_existing_topic_that_misses_brokers_is_reported_or_given_partitions(self):
        c = self.cluster
        # Made by hand with one partition whose preferred leader is broker 1.
        c.tool("kafka.admin.TopicCommand", "--bootstrap-server", c.bootstrap, "--create",
               "--topic", "hand-made", "--replica-assignment", "1:2:0")
        probe = ("  enabled: false\nprobe:\n  enabled: true\n  topic: hand-made\n"
                 "  group: hand-made-probe\n  interval: 500ms\n")

        def receiving(m, partitions):
            got = per_partition(m, "kafka_probe_messages_received_total")
            return len(got) == partitions and all(v >= 2 for v in got.values())

        report_only = Exporter(c.bootstrap, collector="probe", extra_yaml=probe)
        try:
            m = report_only.wait_until(lambda m: receiving(m, 1), timeout=60,
                                       what="the hand-made topic probed")
            self.assertEqual(m.value("kafka_probe_topic_partitions"), 1)
            self.assertEqual(m.value("kafka_probe_topic_uncovered_brokers"), 2)
            self.assertEqual(m.value("kafka_probe_broker_led_partitions", broker=0), 0)
            self.assertEqual(m.value("kafka_probe_broker_led_partitions", broker=1), 1)
            self.assertIn("brokers 0, 2 are the preferred leader of no partition of topic "
                          "'hand-made' (1 partitions); probe.add_partitions is false",
                          report_only.logs())
        finally:
            report_only.stop()

        extend = Exporter(c.bootstrap, collector="probe",
                          extra_yaml=probe + "  add_partitions: true\n")
        try:
            m = extend.wait_until(lambda m: receiving(m, BROKERS), timeout=60,
                                  what="partitions added for brokers 0 and 2, all probed")
            self.assertEqual(m.value("kafka_probe_topic_partitions"), BROKERS)
            self.assertEqual(m.value("kafka_probe_topic_uncovered_brokers"), 0)
            out = c.tool("kafka.admin.TopicCommand", "--bootstrap-server", c.bootstrap,
                         "--describe", "--topic", "hand-made").stdout
            leaders = sorted(int(line.split("Leader:")[1].split()[0])
                             for line in out.splitlines() if "Leader:" in line)
            self.assertEqual(leaders, list(range(BROKERS)), out)
            self.assertIn("adding partitions to topic hand-made: 2 partitions", extend.logs())
        finally:
            extend.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
