"""ZooKeeper on /metrics against a real 3-node ZooKeeper 3.8 ensemble (and one Kafka 3.6.1
broker registered in it), started by test/cluster/cluster. ZooKeeper 3 runs with the narrow
whitelist `srvr,ruok`. The tests run in order: later ones freeze, stop and kill nodes."""

import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from khe_testlib import Cluster, Exporter, log, read_catalogue  # noqa: E402

POLL_INTERVAL = 2.0
CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
# ZooKeeper's own reaction times in the cluster script's config (tickTime 500 ms).
ELECTION_TIME = 15.0
SYNC_LIMIT = 5.0          # syncLimit 10 ticks: a follower cut off from its leader gives up
SESSION_TIMEOUT = 6.0     # zookeeper.session.timeout.ms of the brokers
WHITELISTED = 3           # the node started with 4lw.commands.whitelist=srvr,ruok


def zk_mode(addr):
    """What the server itself says, for comparison: its srvr Mode, or None."""
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"srvr")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
    except OSError:
        return None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


class ZookeeperAgainstRealEnsemble(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(mode="zk", brokers=1, zookeepers=3,
                              extra=["--zk-whitelist", f"{WHITELISTED}=srvr,ruok"])
        env = cls.cluster.env
        cls.addr = {n: env[f"ZOOKEEPER_{n}_ADDR"] for n in (1, 2, 3)}
        cls.node_of = {a: n for n, a in cls.addr.items()}
        servers = ", ".join(cls.addr.values())
        try:
            cls.exporter = Exporter(
                None, collector="zookeeper",
                extra_yaml=(f"zookeeper:\n  servers: [{servers}]\n"
                            f"  poll_interval: {POLL_INTERVAL:.0f}s\n  poll_timeout: 1500ms\n"
                            f"  connect_timeout: {CONNECT_TIMEOUT * 1000:.0f}ms\n"
                            f"  read_timeout: {READ_TIMEOUT * 1000:.0f}ms\n"))
        except Exception:
            cls.cluster.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "exporter"):
            code = cls.exporter.stop()
            if code != 0:
                print(f"exporter exited with {code}:\n{cls.exporter.logs()}")
        cls.cluster.close()

    # --- helpers
    def fresh(self):
        return self.exporter.wait_for_poll_after(time.time())

    def states(self, m):
        return {self.node_of[l["server"]]: l["state"] for l, _ in m.find("zookeeper_server_info")}

    def leaders(self, m):
        return [n for n, s in self.states(m).items() if s == "leader"]

    def up(self, m, n):
        return m.value("zookeeper_up", server=self.addr[n])

    def healthy(self, m):
        return (m.value("zookeeper_ensemble_servers_up") == 3 and
                m.value("zookeeper_ensemble_leaders") == 1 and
                m.value("zookeeper_ensemble_has_quorum") == 1)

    def wait_healthy(self):
        return self.exporter.wait_until(self.healthy, timeout=ELECTION_TIME + 30,
                                        what="a healthy ensemble")

    # --- tests
    def test_1_one_leader_two_followers_as_the_servers_say(self):
        def synced(m):
            # ZooKeeper 3 may not be asked mntr: as leader its follower count is unknown.
            if self.leaders(m) == [WHITELISTED]:
                return not m.find("zookeeper_ensemble_synced_followers")
            return m.value("zookeeper_ensemble_synced_followers") == 2

        m = self.exporter.wait_until(lambda m: self.healthy(m) and synced(m), timeout=30,
                                     what="a healthy ensemble with both followers synced")
        states = self.states(m)
        self.assertEqual(sorted(states.values()), ["follower", "follower", "leader"])
        for n, addr in self.addr.items():
            self.assertEqual(states[n], zk_mode(addr), f"zookeeper {n}")
            self.assertEqual(m.value("zookeeper_serving", server=addr), 1)
            self.assertEqual(m.value("zookeeper_ruok", server=addr), 1)
        self.assertEqual(m.value("zookeeper_ensemble_servers"), 3)
        self.assertEqual(m.value("zookeeper_ensemble_quorum_size"), 3)
        self.assertEqual(m.value("zookeeper_ensemble_expected_followers"), 2)
        for labels, _ in m.find("zookeeper_server_info"):
            self.assertTrue(labels["version"].startswith("3.8."), labels)
        # mntr of the fully whitelisted servers, with types by the documented rule.
        for n in (1, 2):
            self.assertGreater(m.value("zookeeper_znode_count", server=self.addr[n]), 0)
            self.assertGreater(m.value("zookeeper_packets_received_total", server=self.addr[n]), 0)
        self.assertEqual(m.types["zookeeper_packets_received_total"], "counter")
        self.assertEqual(m.types["zookeeper_znode_count"], "gauge")
        self.assertEqual(m.types["zookeeper_avg_latency"], "gauge")

    def test_2_narrow_whitelist_is_its_own_error_kind(self):
        m = self.fresh()
        addr = self.addr[WHITELISTED]
        self.assertEqual(self.up(m, WHITELISTED), 1)
        self.assertEqual(m.value("zookeeper_command_error", server=addr, command="mntr",
                                 kind="not_whitelisted"), 1)
        self.assertEqual(m.value("zookeeper_command_error", server=addr, command="isro",
                                 kind="not_whitelisted"), 1)
        self.assertFalse(m.find("zookeeper_znode_count", server=addr))
        # srvr is allowed: role and srvr series are there.
        self.assertEqual(m.value("zookeeper_serving", server=addr), 1)
        self.assertGreater(m.value("zookeeper_srvr_znodes", server=addr), 0)
        self.assertEqual(len(m.find("zookeeper_command_error")), 2, m.find("zookeeper_command_error"))
        errors = m.find("kafka_hub_exporter_collector_errors_total", collector="zookeeper",
                        kind="not_whitelisted")
        self.assertTrue(errors and errors[0][1] > 0)

    def test_3_kafka_registrations(self):
        m = self.fresh()
        self.assertEqual(m.value("zookeeper_registry_up"), 1)
        self.assertEqual(m.value("kafka_zookeeper_brokers"), 1)
        host, port = self.cluster.env["BROKER_0_ADDR"].rsplit(":", 1)
        self.assertEqual(m.value("kafka_zookeeper_broker_info", id=0, host=host, port=port), 1)
        self.assertEqual(m.value("kafka_zookeeper_controller_id"), 0)
        self.assertGreaterEqual(m.value("kafka_zookeeper_controller_epoch"), 1)

    def test_4_metric_catalogue_in_readme_matches_output(self):
        rows = {n: r for n, r in read_catalogue().items() if r["zookeeper"]}
        self.assertIn("zookeeper_<key>", rows)
        m = self.fresh()
        labels_seen = {}
        for name, labels, _ in m.samples:
            labels_seen.setdefault(name, set()).update(labels)
        for name, kind in m.types.items():
            if not (name.startswith("zookeeper_") or name.startswith("kafka_zookeeper_")):
                continue
            row_name = name if name in rows else (
                "zookeeper_<key>_total" if kind == "counter" else "zookeeper_<key>")
            row = rows[row_name]
            self.assertEqual(row["type"], kind, name)
            self.assertEqual(labels_seen.get(name, set()), row["labels"], name)
        for name, row in rows.items():
            if "<" not in name and not row["conditional"]:
                self.assertIn(name, m.types, f"README lists {name} but /metrics has no such series")

    def test_4b_exposition_passes_promtool(self):
        m = self.fresh()
        p = subprocess.run(["promtool", "check", "metrics"], input=m.text, capture_output=True,
                           text=True, timeout=60)
        # Exit 3 is promtool's linter. mntr keys keep ZooKeeper's own names (zookeeper_<key>),
        # so its complaints about those (`_ms`, a gauge ending in `_count`) are allowed; any
        # other complaint, or a parse error (exit 1), fails.
        self.assertIn(p.returncode, (0, 3), f"promtool check metrics:\n{p.stdout}\n{p.stderr}")
        mntr_names = {n for n in m.types
                      if n.startswith("zookeeper_") and not n.startswith("zookeeper_srvr_")}
        for line in (p.stdout + p.stderr).splitlines():
            if not line.strip():
                continue
            name = line.split(" ", 1)[0]
            self.assertTrue(name in mntr_names, line)
            self.assertRegex(line, r"abbreviated units|should not have \"_count\" suffix")

    def test_5_a_frozen_server_turns_up_0_within_its_timeout(self):
        m = self.wait_healthy()
        victim = next(n for n in (1, 2) if n not in self.leaders(m))
        others = [n for n in (1, 2, 3) if n != victim]
        self.cluster.ctl("stop", "zookeeper", str(victim))
        stopped_at = time.time()
        try:
            m = self.exporter.wait_until(lambda m: self.up(m, victim) == 0,
                                         timeout=POLL_INTERVAL + CONNECT_TIMEOUT + READ_TIMEOUT + 10,
                                         what=f"zookeeper {victim} up 0")
            log(f"frozen zookeeper {victim} reported up 0 after {time.time() - stopped_at:.1f} s")
            m = self.fresh()
            addr = self.addr[victim]
            self.assertEqual(self.up(m, victim), 0)
            self.assertEqual(m.value("zookeeper_serving", server=addr), 0)
            kinds = {l["kind"] for l, _ in m.find("zookeeper_command_error", server=addr)}
            self.assertEqual(kinds, {"timeout"})
            # No stale values of the frozen server, and the others keep reporting.
            for name, labels, _ in m.samples:
                if labels.get("server") == addr:
                    self.assertIn(name, ("zookeeper_up", "zookeeper_serving", "zookeeper_ruok",
                                         "zookeeper_scrape_duration_seconds",
                                         "zookeeper_command_error"), name)
            for n in others:
                self.assertEqual(self.up(m, n), 1)
            self.assertGreater(m.value("zookeeper_znode_count", server=self.addr[others[0]]
                                       if others[0] != WHITELISTED else self.addr[others[1]]), 0)
            self.assertEqual(m.value("zookeeper_ensemble_has_quorum"), 1)
            self.assertLess(m.value("zookeeper_scrape_duration_seconds", server=addr), 1.6)
        finally:
            self.cluster.ctl("resume", "zookeeper", str(victim))
        self.wait_healthy()

    def test_6_two_of_three_stopped_the_survivor_is_not_serving(self):
        m = self.wait_healthy()
        survivor = 1
        frozen = [2, 3]
        for n in frozen:
            self.cluster.ctl("stop", "zookeeper", str(n))
        try:
            m = self.exporter.wait_until(
                lambda m: m.value("zookeeper_serving", server=self.addr[survivor]) == 0,
                timeout=SYNC_LIMIT + ELECTION_TIME + 10, what="the survivor not serving")
            self.assertEqual(self.up(m, survivor), 1)
            self.assertEqual(self.states(m)[survivor], "not_serving")
            self.assertEqual(m.value("zookeeper_ensemble_has_quorum"), 0)
            self.assertEqual(m.value("zookeeper_ensemble_leaders"), 0)
            self.assertEqual(m.value("zookeeper_ensemble_servers_serving"), 0)
            self.assertEqual(m.value("zookeeper_ensemble_synced_followers"), 0)
            self.assertFalse(m.find("zookeeper_znode_count"))
            for n in frozen:
                self.assertEqual(self.up(m, n), 0)
        finally:
            for n in frozen:
                self.cluster.ctl("resume", "zookeeper", str(n))
        self.wait_healthy()

    def test_7_killing_the_leader_reports_a_new_one(self):
        m = self.wait_healthy()
        old = self.leaders(m)[0]
        self.cluster.ctl("kill", "zookeeper", str(old))
        killed_at = time.time()
        try:
            m = self.exporter.wait_until(
                lambda m: self.up(m, old) == 0 and len(self.leaders(m)) == 1 and
                m.value("zookeeper_ensemble_has_quorum") == 1,
                timeout=POLL_INTERVAL + ELECTION_TIME + 5, what="a new leader")
            log(f"new leader zookeeper {self.leaders(m)[0]} reported "
                f"{time.time() - killed_at:.1f} s after killing zookeeper {old}")
            new = self.leaders(m)[0]
            self.assertNotEqual(new, old)
            self.assertEqual(zk_mode(self.addr[new]), "leader")
            self.assertEqual(m.value("zookeeper_ensemble_servers_up"), 2)
            self.assertEqual(m.value("zookeeper_ensemble_leaders"), 1)
            self.assertFalse(m.find("zookeeper_znode_count", server=self.addr[old]))
            kinds = {l["kind"] for l, _ in m.find("zookeeper_command_error", server=self.addr[old])}
            self.assertEqual(kinds, {"connect"})
        finally:
            self.cluster.ctl("start", "zookeeper", str(old))
        self.wait_healthy()

    def test_8_a_killed_brokers_registration_disappears(self):
        m = self.exporter.wait_until(lambda m: m.value("kafka_zookeeper_brokers") == 1,
                                     timeout=60, what="the broker registered")
        self.cluster.ctl("kill", "broker", "0")
        killed_at = time.time()
        m = self.exporter.wait_until(
            lambda m: m.value("zookeeper_registry_up") == 1 and
            m.value("kafka_zookeeper_brokers") == 0,
            timeout=SESSION_TIMEOUT + POLL_INTERVAL + 10, what="the registration gone")
        log(f"broker 0's registration gone {time.time() - killed_at:.1f} s after the kill")
        self.assertFalse(m.find("kafka_zookeeper_broker_info"))
        self.assertEqual(m.value("kafka_zookeeper_controller_id"), -1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
