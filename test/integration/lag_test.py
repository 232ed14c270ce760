"""Consumer lag on /metrics against a real cluster, with Kafka's own kafka-consumer-groups as the
oracle. KHE_CLUSTER_MODE=zk (default, Kafka 3.6.1 + a 3-node ZooKeeper ensemble) or kraft."""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import (Cluster, Exporter, describe_groups, group_states, log,  # noqa: E402
                         read_catalogue)

MODE = os.environ.get("KHE_CLUSTER_MODE", "zk")
STABLE_GROUPS = ("stopped", "partial", "to-delete", "single-reader")


class LagAgainstRealCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(mode=MODE, brokers=3, zookeepers=3)
        c = cls.cluster
        try:
            c.loadgen("create-topics", "--topic", "orders", "--partitions", "3", "--replication", "3")
            c.loadgen("create-topics", "--topic", "events", "--partitions", "8", "--replication", "2")
            c.loadgen("create-topics", "--topic", "single", "--partitions", "1", "--replication", "1")
            cls.orders_produced = (time.time(), None)
            c.loadgen("produce", "--topic", "orders", "--messages", "200", "--per-partition")
            cls.orders_produced = (cls.orders_produced[0], time.time())
            c.loadgen("produce", "--topic", "events", "--messages", "50", "--per-partition")
            c.loadgen("produce", "--topic", "single", "--messages", "30", "--per-partition")
            # Empty with commits: consumed part of the data, then left the group.
            c.loadgen("consume", "--group", "stopped", "--topic", "orders", "--topic", "events",
                      "--max-messages", "300", "--commit-every", "50")
            # Commits on only some partitions, never a member.
            c.loadgen("commit", "--group", "partial", "--topic", "orders", "--partition", "0,2",
                      "--offset", "10")
            c.loadgen("commit", "--group", "to-delete", "--topic", "events", "--partition", "1",
                      "--offset", "5")
            c.loadgen("commit", "--group", "single-reader", "--topic", "single", "--partition", "0",
                      "--offset", "3")
            # Stable and moving: a slow consumer that is still reading when the tests run.
            cls.active = c.loadgen_background("consume", "--group", "active", "--topic", "orders",
                                              "--topic", "events", "--rate", "20",
                                              "--commit-every", "10", "--duration", "900")
            cls.exporter = Exporter(c.bootstrap, extra_yaml="  naming: both\n")
            # The active consumer must have joined and committed before the comparisons start.
            cls.exporter.wait_until(
                lambda m: m.find("kafka_consumergroup_group_offset", group="active"),
                timeout=90, what="the active group's first commit")
        except Exception:
            c.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "exporter"):
            code = cls.exporter.stop()
            if code != 0:
                print(f"exporter exited with {code}:\n{cls.exporter.logs()}")
        if hasattr(cls, "active"):
            cls.active.terminate()
            cls.active.wait(timeout=30)
        cls.cluster.close()

    def compare_with_oracle(self, groups=None):
        """Reads the oracle, then a poll that started after it, then the oracle again; every
        partition whose committed offset did not move in between must match exactly."""
        before = describe_groups(self.cluster)
        metrics = self.exporter.wait_for_poll_after(time.time())
        after = describe_groups(self.cluster)
        compared = 0
        for (group, topic, partition), (current, end, lag) in before.items():
            if groups and group not in groups:
                continue
            if after.get((group, topic, partition)) != (current, end, lag):
                continue
            labels = dict(group=group, topic=topic, partition=partition)
            if current is None:
                self.assertEqual(metrics.find("kafka_consumergroup_group_lag", **labels), [],
                                 f"no commit, so no lag sample: {labels}")
                continue
            self.assertEqual(metrics.value("kafka_consumergroup_group_offset", **labels), current, labels)
            self.assertEqual(metrics.value("kafka_consumergroup_group_lag", **labels), lag, labels)
            self.assertEqual(metrics.value("kafka_consumergroup_lag", consumergroup=group,
                                           topic=topic, partition=partition), lag, labels)
            self.assertEqual(metrics.value("kafka_partition_latest_offset", topic=topic,
                                           partition=partition), end, labels)
            compared += 1
        # Nothing on /metrics that Kafka's tool does not know about.
        for labels, _ in metrics.find("kafka_consumergroup_group_offset"):
            key = (labels["group"], labels["topic"], int(labels["partition"]))
            if groups and key[0] not in groups:
                continue
            self.assertIn(key, before, f"exporter reports a commit Kafka does not: {key}")
        return compared, before, metrics

    def test_1_partition_lag_equals_kafka_consumer_groups(self):
        # Freeze the active consumer (it stays a Stable member within its session timeout) so
        # that its partitions can be compared too, not only the idle groups'.
        self.active.send_signal(signal.SIGSTOP)
        try:
            time.sleep(1)
            compared, oracle, _ = self.compare_with_oracle()
        finally:
            self.active.send_signal(signal.SIGCONT)
        with_commit = [k for k, v in oracle.items() if v[0] is not None]
        log(f"compared {compared} partitions with kafka-consumer-groups "
            f"({len(with_commit)} with commits)")
        self.assertTrue(any(k[0] == "active" for k in with_commit), "active group not in oracle")
        self.assertEqual(compared, len(with_commit))

    def test_2_sums_and_max_agree(self):
        _, oracle, metrics = self.compare_with_oracle(groups=STABLE_GROUPS)
        for group in STABLE_GROUPS:
            lags = {k: v[2] for k, v in oracle.items() if k[0] == group and v[2] is not None}
            self.assertTrue(lags, group)
            self.assertEqual(metrics.value("kafka_consumergroup_group_sum_lag", group=group),
                             sum(lags.values()), group)
            self.assertEqual(metrics.value("kafka_consumergroup_group_max_lag", group=group),
                             max(lags.values()), group)
            for topic in {k[1] for k in lags}:
                topic_sum = sum(v for k, v in lags.items() if k[1] == topic)
                self.assertEqual(metrics.value("kafka_consumergroup_group_topic_sum_lag",
                                               group=group, topic=topic), topic_sum)
                self.assertEqual(metrics.value("kafka_consumergroup_lag_sum", consumergroup=group,
                                               topic=topic), topic_sum)
        # "stopped" consumed exactly 300 messages and committed them.
        committed = sum(v for _, v in metrics.find("kafka_consumergroup_current_offset_sum",
                                                   consumergroup="stopped"))
        self.assertEqual(committed, 300)

    def test_3_group_state_and_members(self):
        states = group_states(self.cluster)
        metrics = self.exporter.wait_for_poll_after(time.time())
        for group in ("stopped", "active"):
            info = metrics.find("kafka_consumergroup_group_info", group=group)
            self.assertEqual(len(info), 1, group)
            self.assertEqual(info[0][0]["state"], states[group], group)
        self.assertEqual(metrics.value("kafka_consumergroup_group_members", group="active"), 1)
        self.assertEqual(metrics.value("kafka_consumergroup_group_members", group="stopped"), 0)
        member = metrics.find("kafka_consumergroup_group_offset", group="active")[0][0]
        self.assertEqual(member["client_id"], "kafka-hub-loadgen")
        self.assertNotEqual(member["consumer_id"], "unknown")
        partial = metrics.find("kafka_consumergroup_group_offset", group="partial")
        self.assertTrue(all(l["member_host"] == "unknown" for l, _ in partial))
        self.assertEqual(sorted(int(l["partition"]) for l, _ in partial), [0, 2])

    def test_3b_consumer_status_and_lag_seconds(self):
        m = self.exporter.wait_for_poll_after(time.time())
        lagging = 0
        for group in ("stopped", "partial"):
            lags = {(l["topic"], l["partition"]): v
                    for l, v in m.find("kafka_consumergroup_group_lag", group=group)}
            for (topic, partition), lag in lags.items():
                labels = dict(group=group, topic=topic, partition=partition)
                status = m.value("kafka_consumergroup_partition_status", **labels)
                seconds = m.value("kafka_consumergroup_group_lag_seconds", **labels)
                if lag > 0:
                    # No members, messages unread, commits that never move: STOP.
                    lagging += 1
                    self.assertEqual(status, 4, labels)
                    self.assertGreater(seconds, 0, labels)
                else:
                    self.assertEqual(status, 1, labels)
                    self.assertEqual(seconds, 0, labels)
            expected = 3 if any(v > 0 for v in lags.values()) else 1
            self.assertEqual(m.value("kafka_consumergroup_group_status", group=group), expected)
        self.assertGreater(lagging, 0, "the partial group lags by construction")
        # Exact age: the record at offset 10 of orders-0 was produced during setUpClass.
        seconds = m.value("kafka_consumergroup_group_lag_seconds", group="partial", topic="orders",
                          partition=0)
        produced_from, produced_to = self.orders_produced
        now = time.time()
        self.assertGreaterEqual(seconds, now - produced_to - 3.0)  # one poll interval and slack
        self.assertLessEqual(seconds, now - produced_from + 1.0)
        self.assertGreater(m.value("kafka_consumergroup_group_max_lag_seconds", group="partial"), 0)
        # The active consumer is moving: never STOP while it reads.
        for labels, v in m.find("kafka_consumergroup_partition_status", group="active"):
            self.assertNotEqual(v, 4, labels)

    def test_4_topic_and_broker_state(self):
        m = self.exporter.wait_for_poll_after(time.time())
        self.assertEqual(m.value("kafka_brokers"), 3)
        self.assertEqual(m.value("kafka_topic_partitions", topic="events"), 8)
        self.assertEqual(m.value("kafka_topic_partition_replicas", topic="events", partition=0), 2)
        self.assertEqual(m.value("kafka_cluster_offline_partitions"), 0)
        controllers = [v for _, v in m.find("kafka_broker_is_controller")]
        self.assertEqual(sorted(controllers), [0, 0, 1] if MODE == "zk" else sorted(controllers))
        self.assertEqual(m.value("kafka_partition_latest_offset", topic="orders", partition=1), 200)
        self.assertEqual(m.value("kafka_partition_earliest_offset", topic="orders", partition=1), 0)
        self.assertEqual(m.find("kafka_partition_latest_offset", topic="__consumer_offsets"), [])

    def test_5_exposition_passes_promtool(self):
        m = self.exporter.metrics()
        p = subprocess.run(["promtool", "check", "metrics"], input=m.text, capture_output=True,
                           text=True, timeout=60)
        # Exit 3 is promtool's linter; the only complaints allowed are about kafka_exporter's own
        # names, kept unchanged because dashboards depend on them. Anything else (a parse error
        # is exit 1) fails.
        lint = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
        allowed = ("kafka_consumergroup_current_offset_sum ", "kafka_consumergroup_lag_sum ")
        self.assertIn(p.returncode, (0, 3), f"promtool check metrics:\n{p.stdout}\n{p.stderr}")
        self.assertTrue(all(line.startswith(allowed) for line in lint), "\n".join(lint))
        status, body, headers = self.exporter.get("/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        self.assertNotIn("Content-Encoding", headers)

    def test_6_deleted_group_and_topic_vanish(self):
        c = self.cluster
        c.loadgen("create-topics", "--topic", "doomed", "--partitions", "2", "--replication", "1")
        c.loadgen("commit", "--group", "doomed-reader", "--topic", "doomed", "--partition", "0",
                  "--offset", "0")
        self.exporter.wait_until(
            lambda m: m.find("kafka_topic_partitions", topic="doomed") and
            m.find("kafka_consumergroup_group_offset", group="to-delete"),
            timeout=30, what="doomed topic and to-delete group")
        c.tool("kafka.admin.ConsumerGroupCommand", "--bootstrap-server", c.bootstrap, "--delete",
               "--group", "to-delete")
        c.loadgen("delete-topics", "--topic", "doomed")
        gone_at = time.time()
        m = self.exporter.wait_until(
            lambda m: not m.find("kafka_consumergroup_group_offset", group="to-delete") and
            not m.find("kafka_topic_partitions", topic="doomed"),
            timeout=30, what="deleted group and topic to vanish")
        log(f"deleted group and topic vanished after {time.time() - gone_at:.1f} s")
        for name in ("kafka_consumergroup_group_sum_lag", "kafka_consumergroup_group_info",
                     "kafka_consumergroup_lag_sum"):
            self.assertEqual(m.find(name, group="to-delete") + m.find(name, consumergroup="to-delete"), [])
        self.assertEqual(m.find("kafka_partition_latest_offset", topic="doomed"), [])
        self.assertEqual(m.find("kafka_consumergroup_group_offset", topic="doomed"), [])

    def test_7_broker_down_keeps_the_rest_and_recovers(self):
        m = self.exporter.wait_for_poll_after(time.time())
        leader = int(m.value("kafka_topic_partition_leader", topic="single", partition=0))
        stopped_lag = {l["partition"] + l["topic"]: v
                       for l, v in m.find("kafka_consumergroup_group_lag", group="stopped")}
        log(f"killing broker {leader}, the leader of single-0")
        self.cluster.ctl("kill", "broker", str(leader))
        killed_at = time.time()
        # /metrics keeps answering from the last snapshot while the cluster reshuffles.
        status, _, _ = self.exporter.get("/metrics", timeout=2)
        self.assertEqual(status, 200)
        m = self.exporter.wait_until(
            lambda m: m.value("kafka_brokers") == 2 and
            m.find("kafka_hub_exporter_partition_offsets_unavailable", topic="single"),
            timeout=60, what="the dead broker to be noticed")
        log(f"broker loss visible after {time.time() - killed_at:.1f} s")
        self.assertEqual(m.value("kafka_hub_exporter_collector_up", collector="kafka"), 1)
        self.assertEqual(m.value("kafka_topic_offline_partitions", topic="single"), 1)
        # Surviving data: the idle group's lag on replicated topics is unchanged once leaders
        # have moved (RF 2 and 3 topics keep a leader).
        m = self.exporter.wait_until(
            lambda m: {l["partition"] + l["topic"]: v for l, v in
                       m.find("kafka_consumergroup_group_lag", group="stopped")} == stopped_lag,
            timeout=60, what="the surviving brokers' lag data")
        self.assertLess(m.value("kafka_hub_exporter_collector_last_duration_seconds",
                                collector="kafka"), 2.0, "a poll overran its interval")
        self.cluster.ctl("start", "broker", str(leader))
        restarted_at = time.time()
        self.exporter.wait_until(
            lambda m: m.value("kafka_brokers") == 3 and
            not m.find("kafka_hub_exporter_partition_offsets_unavailable") and
            m.find("kafka_consumergroup_group_lag", group="single-reader"),
            timeout=120, what="recovery after the broker restarted")
        log(f"recovered {time.time() - restarted_at:.1f} s after the restart")
        compared, _, _ = self.compare_with_oracle(groups=STABLE_GROUPS)
        self.assertGreater(compared, 0)

    def test_7b_a_crashing_kafka_worker_does_not_take_the_exporter_down(self):
        workers = subprocess.run(["pgrep", "-P", str(self.exporter.proc.pid)],
                                 capture_output=True, text=True).stdout.split()
        self.assertEqual(len(workers), 1, "expected one Kafka worker process")
        before = self.exporter.metrics()
        good_before = before.value("kafka_hub_exporter_collections_total", collector="kafka",
                                   result="success")
        # What librdkafka's assertion does to the worker.
        os.kill(int(workers[0]), signal.SIGABRT)
        m = self.exporter.wait_until(
            lambda m: m.find("kafka_hub_exporter_collector_errors_total", collector="kafka",
                             kind="worker") and
            m.value("kafka_hub_exporter_collections_total", collector="kafka",
                    result="success") > good_before + 1,
            timeout=30, what="a failed poll of kind worker, then recovery")
        self.assertIsNone(self.exporter.proc.poll(), "the exporter itself must keep running")
        self.assertEqual(m.value("kafka_hub_exporter_collector_up", collector="kafka"), 1)
        self.assertTrue(m.find("kafka_consumergroup_group_lag", group="stopped"))
        new_workers = subprocess.run(["pgrep", "-P", str(self.exporter.proc.pid)],
                                     capture_output=True, text=True).stdout.split()
        self.assertEqual(len(new_workers), 1)
        self.assertNotEqual(new_workers, workers)

    def test_9_metric_catalogue_in_readme_matches_output(self):
        # The ZooKeeper collector's rows are checked by zookeeper_test.py, the JMX bridge's by
        # jmx_test.py.
        catalogue = {n: dict(r, conditional=r["conditional"] or r["collector"] != "kafka")
                     for n, r in read_catalogue().items()}
        m = self.exporter.wait_for_poll_after(time.time())
        self.exporter.metrics()  # a scrape, so the scrape counter exists
        m = self.exporter.metrics()
        labels_seen = {}
        for name, labels, _ in m.samples:
            labels_seen.setdefault(name, set()).update(labels)
        for name, kind in m.types.items():
            self.assertIn(name, catalogue, f"{name} is on /metrics but not in the README catalogue")
            self.assertEqual(catalogue[name]["type"], kind, name)
            self.assertEqual(labels_seen.get(name, set()), catalogue[name]["labels"], name)
        for name, row in catalogue.items():
            if not row["conditional"]:
                self.assertIn(name, m.types, f"README lists {name} but /metrics has no such series")

    def test_8_sigterm_stops_within_five_seconds(self):
        extra = Exporter(self.cluster.bootstrap)
        extra.proc.send_signal(15)
        extra.proc.wait(timeout=5)
        self.assertEqual(extra.proc.returncode, 0, extra.logs())
        extra.log_file.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
