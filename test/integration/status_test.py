"""Burrow-style consumer status and lag in seconds on a real broker, one scenario per group:
OK (keeps up), WARN (moves but falls behind), STALL (a member that stopped moving), STOP (left the
group with messages unread), REWIND (offsets of a lagging group reset to earliest with
kafka-consumer-groups). Burrow's order: STOP, then "zero lag at any commit is OK", then REWIND,
STALL, WARN (core/internal/evaluator/caching.go)."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import Cluster, Exporter, log  # noqa: E402

OK, WARN, STOP, STALL, REWIND = 1, 2, 4, 5, 6


class ConsumerStatus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = c = Cluster(mode="zk", brokers=1, zookeepers=1)
        cls.background = []
        try:
            for topic in ("ok-t", "warn-t", "stall-t", "stop-t", "rewind-t"):
                c.loadgen("create-topics", "--topic", topic, "--partitions", "1",
                          "--replication", "1")
            c.loadgen("produce", "--topic", "stop-t", "--messages", "100")
            c.loadgen("consume", "--group", "stop-g", "--topic", "stop-t", "--max-messages", "50",
                      "--commit-every", "10")
            c.loadgen("produce", "--topic", "rewind-t", "--messages", "100")
            # Half read: lagging at every commit, so Burrow's zero-lag rule cannot hide the rewind.
            c.loadgen("consume", "--group", "rewind-g", "--topic", "rewind-t",
                      "--max-messages", "50", "--commit-every", "10")
            for topic, rate in (("ok-t", "20"), ("warn-t", "50"), ("stall-t", "20")):
                cls.background.append(c.loadgen_background(
                    "produce", "--topic", topic, "--messages", "0", "--rate", rate))
            cls.background.append(c.loadgen_background(
                "consume", "--group", "ok-g", "--topic", "ok-t", "--commit-every", "1"))
            cls.background.append(c.loadgen_background(
                "consume", "--group", "warn-g", "--topic", "warn-t", "--rate", "5",
                "--commit-every", "5"))
            cls.stall = c.loadgen_background(
                "consume", "--group", "stall-g", "--topic", "stall-t", "--commit-every", "1")
            cls.background.append(cls.stall)
            cls.exporter = Exporter(c.bootstrap, poll_interval="1s", poll_timeout="700ms",
                                    extra_yaml="  status: {window: 5, allowed_lag: 10}\n")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for p in cls.background:
            p.send_signal(signal.SIGCONT)
            p.terminate()
        for p in cls.background:
            try:
                p.wait(timeout=30)
            except Exception:
                p.kill()
        if hasattr(cls, "exporter"):
            cls.exporter.stop()
        cls.cluster.close()

    def status(self, m, group, topic):
        found = m.find("kafka_consumergroup_partition_status", group=group, topic=topic,
                       partition=0)
        return found[0][1] if found else None

    def wait_status(self, group, topic, expected, timeout=60):
        started = time.time()
        m = self.exporter.wait_until(lambda m: self.status(m, group, topic) == expected,
                                     timeout=timeout, what=f"{group} status {expected}")
        log(f"{group}: status {expected} after {time.time() - started:.1f} s")
        return m

    def test_all_scenarios(self):
        # Let the consumers join and the exporter fill its windows.
        self.exporter.wait_until(
            lambda m: all(self.status(m, g, t) is not None for g, t in
                          (("ok-g", "ok-t"), ("warn-g", "warn-t"), ("stall-g", "stall-t"))),
            timeout=60, what="every group to be evaluated")
        time.sleep(3)
        self.stall.send_signal(signal.SIGSTOP)  # still a member, no longer moving

        m = self.wait_status("stop-g", "stop-t", STOP)
        self.assertEqual(m.value("kafka_consumergroup_group_status", group="stop-g"), 3)

        m = self.wait_status("warn-g", "warn-t", WARN)
        self.assertEqual(m.value("kafka_consumergroup_group_status", group="warn-g"), 2)

        m = self.wait_status("stall-g", "stall-t", STALL)
        self.assertEqual(m.value("kafka_consumergroup_group_status", group="stall-g"), 3)

        m = self.exporter.metrics()
        self.assertEqual(self.status(m, "ok-g", "ok-t"), OK)
        self.assertEqual(m.value("kafka_consumergroup_group_status", group="ok-g"), 1)
        self.assertLess(m.value("kafka_consumergroup_group_lag_seconds", group="ok-g",
                                topic="ok-t", partition=0), 2.0)

        # REWIND: a group that left half-way (STOP) whose offsets are reset to the beginning.
        # Burrow checks STOP first, so REWIND shows until the reset commit is older than the
        # window's span (tens of seconds here), then STOP again.
        self.assertEqual(self.status(m, "rewind-g", "rewind-t"), STOP)
        self.cluster.tool("kafka.admin.ConsumerGroupCommand", "--bootstrap-server",
                          self.cluster.bootstrap, "--group", "rewind-g", "--topic", "rewind-t",
                          "--reset-offsets", "--to-earliest", "--execute")
        m = self.wait_status("rewind-g", "rewind-t", REWIND, timeout=20)
        self.assertEqual(m.value("kafka_consumergroup_group_status", group="rewind-g"), 3)
        self.assertEqual(m.value("kafka_consumergroup_group_lag", group="rewind-g",
                                 topic="rewind-t", partition=0), 100)

        # STOP: the age of the oldest unread message is the exact record time, not a guess.
        stop_seconds = m.value("kafka_consumergroup_group_lag_seconds", group="stop-g",
                               topic="stop-t", partition=0)
        self.assertGreater(stop_seconds, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
