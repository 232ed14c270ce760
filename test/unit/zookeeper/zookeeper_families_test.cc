#include "khe/zookeeper/zookeeper_families.h"

#include <gtest/gtest.h>

#include "captured.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "khe/zookeeper/zookeeper_collector.h"

namespace khe {
namespace {


// The four replies of one server, from captured files named <prefix>_<word>.txt; a word
// listed in `failures` gets that error instead.
std::vector<FourLetterWordReply> replies_of(const std::string& server, const std::string& prefix,
                                            std::map<std::string, Error> failures = {}) {
  std::vector<FourLetterWordReply> out;
  for (const auto& word : polled_words()) {
    FourLetterWordReply r;
    r.server = server;
    r.word = word;
    r.elapsed = std::chrono::milliseconds(3);
    if (auto f = failures.find(word); f != failures.end()) {
      r.reply = f->second;
    } else if (prefix == "whitelisted" && word == "ruok") {
      r.reply = std::string("imok");
    } else {
      r.reply = captured(prefix + "_" + word + ".txt");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<FourLetterWordReply> dead(const std::string& server) {
  std::map<std::string, Error> failures;
  for (const auto& w : polled_words()) {
    failures[w] = Error{ErrorKind::kConnect, server, w + ": connect failed: Connection refused"};
  }
  return replies_of(server, "leader", failures);
}

const Family* find(const std::vector<Family>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<double> value(const std::vector<Family>& families, const std::string& name,
                            const std::vector<std::string>& labels = {}) {
  const auto* f = find(families, name);
  if (!f) return std::nullopt;
  for (const auto& s : f->samples) {
    if (s.label_values == labels) return s.value;
  }
  return std::nullopt;
}

std::vector<Family> build(std::vector<std::vector<FourLetterWordReply>> per_server,
                          const Result<KafkaRegistry>* registry = nullptr) {
  ZookeeperFamilyInput input;
  for (std::size_t i = 0; i < per_server.size(); ++i) {
    input.servers.push_back(interpret_server(per_server[i].front().server, per_server[i]));
  }
  input.registry = registry;
  return build_zookeeper_families(input);
}

TEST(InterpretServer, LeaderFollowerStandalone) {
  auto leader = interpret_server("z2", replies_of("z2", "leader"));
  EXPECT_TRUE(leader.up);
  EXPECT_EQ(leader.serving, true);
  EXPECT_TRUE(leader.ruok);
  EXPECT_EQ(leader.state, "leader");
  EXPECT_NE(leader.version.find("3.8.3"), std::string::npos);
  EXPECT_TRUE(leader.mntr);
  EXPECT_TRUE(leader.srvr);
  EXPECT_TRUE(leader.errors.empty());
  EXPECT_EQ(interpret_server("z1", replies_of("z1", "follower")).state, "follower");
  EXPECT_EQ(interpret_server("z", replies_of("z", "standalone")).state, "standalone");
}

TEST(InterpretServer, NotServingIsUpButNeverALeader) {
  auto s = interpret_server("z1", replies_of("z1", "not_serving"));
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.serving, false);
  EXPECT_TRUE(s.ruok);
  EXPECT_EQ(s.state, "not_serving");
  EXPECT_FALSE(s.mntr);
  EXPECT_TRUE(s.errors.empty());
  // Lost quorum between two words: the sentence wins over the data.
  auto racing = replies_of("z1", "leader");
  racing[2].reply = captured("not_serving_srvr.txt");
  auto r = interpret_server("z1", racing);
  EXPECT_EQ(r.serving, false);
  EXPECT_EQ(r.state, "not_serving");
  EXPECT_FALSE(r.mntr);
}

TEST(InterpretServer, WhitelistRefusalIsItsOwnErrorKind) {
  auto s = interpret_server("z3", replies_of("z3", "whitelisted"));
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.serving, true);  // srvr was allowed
  EXPECT_EQ(s.state, "leader");
  EXPECT_FALSE(s.mntr);
  ASSERT_EQ(s.errors.size(), 2u);
  EXPECT_EQ(s.errors[0].command, "mntr");
  EXPECT_EQ(s.errors[0].error.kind, ErrorKind::kNotWhitelisted);
  EXPECT_EQ(s.errors[0].error.to_string(),
            "not_whitelisted [z3]: mntr: not in the server's 4lw.commands.whitelist");
  EXPECT_EQ(s.errors[1].command, "isro");
}

TEST(InterpretServer, EmptyGarbageAndTimeoutAreDownWithTheirKind) {
  auto empty = replies_of(
      "z", "leader", {{"ruok", Error{}}, {"mntr", Error{}}, {"srvr", Error{}}, {"isro", Error{}}});
  for (auto& r : empty) r.reply = std::string();
  auto e = interpret_server("z", empty);
  EXPECT_FALSE(e.up);
  EXPECT_EQ(e.serving, false);
  ASSERT_EQ(e.errors.size(), 4u);
  EXPECT_EQ(e.errors[0].error.kind, ErrorKind::kEmptyReply);

  auto garbage = replies_of("z", "leader");
  for (auto& r : garbage) r.reply = std::string("\x16\x03\x01 not zookeeper");
  auto g = interpret_server("z", garbage);
  EXPECT_FALSE(g.up);
  ASSERT_EQ(g.errors.size(), 4u);
  for (const auto& err : g.errors) EXPECT_EQ(err.error.kind, ErrorKind::kProtocol) << err.command;

  std::map<std::string, Error> timeouts;
  for (const auto& w : polled_words())
    timeouts[w] = Error{ErrorKind::kTimeout, "z", w + ": no reply"};
  auto t = interpret_server("z", replies_of("z", "leader", timeouts));
  EXPECT_FALSE(t.up);
  EXPECT_EQ(t.errors[0].error.kind, ErrorKind::kTimeout);
}

TEST(Families, HealthyEnsemble) {
  auto families = build(
      {replies_of("z1", "follower"), replies_of("z2", "leader"), replies_of("z3", "follower")});
  for (const auto* s : {"z1", "z2", "z3"}) {
    EXPECT_EQ(value(families, "zookeeper_up", {s}), 1) << s;
    EXPECT_EQ(value(families, "zookeeper_serving", {s}), 1) << s;
    EXPECT_EQ(value(families, "zookeeper_ruok", {s}), 1) << s;
    EXPECT_EQ(value(families, "zookeeper_scrape_duration_seconds", {s}), 0.003) << s;
  }
  auto version = interpret_server("z2", replies_of("z2", "leader")).version;
  EXPECT_EQ(value(families, "zookeeper_server_info", {"z2", "leader", version}), 1);
  EXPECT_EQ(value(families, "zookeeper_server_info", {"z1", "follower", version}), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers"), 3);
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers_up"), 3);
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers_serving"), 3);
  EXPECT_EQ(value(families, "zookeeper_ensemble_leaders"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_quorum_size"), 3);
  EXPECT_EQ(value(families, "zookeeper_ensemble_has_quorum"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_synced_followers"), 1);  // as captured
  EXPECT_EQ(value(families, "zookeeper_ensemble_expected_followers"), 2);
  EXPECT_FALSE(find(families, "zookeeper_command_error"));

  // Every numeric mntr key of every server, typed by the rule.
  const auto* packets = find(families, "zookeeper_packets_received_total");
  ASSERT_TRUE(packets);
  EXPECT_EQ(packets->type, MetricType::kCounter);
  EXPECT_EQ(packets->samples.size(), 3u);
  const auto* znodes = find(families, "zookeeper_znode_count");
  ASSERT_TRUE(znodes);
  EXPECT_EQ(znodes->type, MetricType::kGauge);
  EXPECT_EQ(value(families, "zookeeper_znode_count", {"z2"}), 28);
  const auto* synced = find(families, "zookeeper_synced_followers");
  ASSERT_TRUE(synced);
  EXPECT_EQ(synced->samples.size(), 1u);  // leader only
  EXPECT_FALSE(find(families, "zookeeper_version"));
  EXPECT_FALSE(find(families, "zookeeper_server_state"));
  EXPECT_EQ(value(families, "zookeeper_srvr_zxid", {"z2"}), static_cast<double>(0x200000000ull));
  EXPECT_EQ(value(families, "zookeeper_srvr_epoch", {"z2"}), 2);

  auto leader_mntr = parse_mntr(captured("leader_mntr.txt"));
  std::size_t numeric = 0;
  for (const auto& e : leader_mntr->entries) {
    if (!e.number) continue;
    ++numeric;
    EXPECT_TRUE(value(families, mntr_metric_name(e.key), {"z2"})) << e.key;
  }
  EXPECT_GT(numeric, 500u);
}

TEST(Families, DeadServerHasUpZeroAndNoMntrSeries) {
  auto families = build({replies_of("z1", "follower"), replies_of("z2", "leader"), dead("z3")});
  EXPECT_EQ(value(families, "zookeeper_up", {"z3"}), 0);
  EXPECT_EQ(value(families, "zookeeper_serving", {"z3"}), 0);
  EXPECT_EQ(value(families, "zookeeper_ruok", {"z3"}), 0);
  EXPECT_EQ(value(families, "zookeeper_command_error", {"z3", "mntr", "connect"}), 1);
  for (const auto& f : families) {
    if (f.name.starts_with("zookeeper_ensemble") || f.name == "zookeeper_command_error") continue;
    for (const auto& s : f.samples) {
      if (f.name == "zookeeper_up" || f.name == "zookeeper_serving" || f.name == "zookeeper_ruok" ||
          f.name == "zookeeper_scrape_duration_seconds") {
        continue;
      }
      EXPECT_NE(s.label_values.at(0), "z3") << f.name;
    }
  }
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers_up"), 2);
  EXPECT_EQ(value(families, "zookeeper_ensemble_has_quorum"), 1);
}

TEST(Families, TwoOfThreeStoppedLosesQuorum) {
  std::map<std::string, Error> stuck;
  for (const auto& w : polled_words()) stuck[w] = Error{ErrorKind::kTimeout, "", w + ": no reply"};
  auto families = build({replies_of("z1", "not_serving"), replies_of("z2", "leader", stuck),
                         replies_of("z3", "leader", stuck)});
  EXPECT_EQ(value(families, "zookeeper_up", {"z1"}), 1);
  EXPECT_EQ(value(families, "zookeeper_serving", {"z1"}), 0);
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers_up"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_servers_serving"), 0);
  EXPECT_EQ(value(families, "zookeeper_ensemble_leaders"), 0);
  EXPECT_EQ(value(families, "zookeeper_ensemble_has_quorum"), 0);
  EXPECT_EQ(value(families, "zookeeper_ensemble_synced_followers"), 0);
  EXPECT_EQ(value(families, "zookeeper_command_error", {"z2", "ruok", "timeout"}), 1);
}

TEST(Families, LeaderWithoutMntrLeavesSyncedFollowersUnknown) {
  auto families = build({replies_of("z1", "follower"), replies_of("z2", "follower"),
                         replies_of("z3", "whitelisted")});
  EXPECT_EQ(value(families, "zookeeper_ensemble_leaders"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_has_quorum"), 1);
  EXPECT_FALSE(find(families, "zookeeper_ensemble_synced_followers"));
  EXPECT_EQ(value(families, "zookeeper_command_error", {"z3", "mntr", "not_whitelisted"}), 1);
}

TEST(Families, MntrKeysNeverShadowTheCollectorsOwnSeries) {
  auto replies = replies_of("z", "standalone");
  replies[1].reply = captured("standalone_mntr.txt") +
                     "zk_up\t0\nzk_ensemble_leaders\t7\nzk_srvr_zxid\t1\nzk_registry_up\t0\n";
  auto families = build({replies});
  EXPECT_EQ(value(families, "zookeeper_up", {"z"}), 1);
  EXPECT_EQ(find(families, "zookeeper_up")->samples.size(), 1u);
  EXPECT_EQ(value(families, "zookeeper_ensemble_leaders"), 1);
  EXPECT_EQ(find(families, "zookeeper_srvr_zxid")->samples.size(), 1u);
  EXPECT_EQ(value(families, "zookeeper_srvr_zxid", {"z"}), 0x1d);
  std::set<std::string> names;
  for (const auto& f : families) EXPECT_TRUE(names.insert(f.name).second) << f.name;
}

TEST(Families, StandaloneIsItsOwnQuorum) {
  auto families = build({replies_of("z", "standalone")});
  EXPECT_EQ(value(families, "zookeeper_ensemble_leaders"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_quorum_size"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_has_quorum"), 1);
  EXPECT_EQ(value(families, "zookeeper_ensemble_expected_followers"), 0);
}

TEST(Families, Registry) {
  KafkaRegistry registry;
  registry.brokers = {{0, "127.0.0.1", 9092}, {2, "kafka-2", 9093}};
  registry.controller_id = 2;
  registry.controller_epoch = 7;
  Result<KafkaRegistry> ok(registry);
  auto families = build({replies_of("z", "standalone")}, &ok);
  EXPECT_EQ(value(families, "zookeeper_registry_up"), 1);
  EXPECT_EQ(value(families, "kafka_zookeeper_brokers"), 2);
  EXPECT_EQ(value(families, "kafka_zookeeper_broker_info", {"2", "kafka-2", "9093"}), 1);
  EXPECT_EQ(value(families, "kafka_zookeeper_controller_id"), 2);
  EXPECT_EQ(value(families, "kafka_zookeeper_controller_epoch"), 7);

  Result<KafkaRegistry> failed(Error{ErrorKind::kConnect, "z", "no session"});
  families = build({replies_of("z", "standalone")}, &failed);
  EXPECT_EQ(value(families, "zookeeper_registry_up"), 0);
  EXPECT_FALSE(find(families, "kafka_zookeeper_brokers"));
  EXPECT_FALSE(find(families, "kafka_zookeeper_broker_info"));
}

class FakeClient final : public FourLetterWordClient {
 public:
  std::map<std::string, std::string> prefix_of;  // server -> captured file prefix, "" = dead
  std::vector<FourLetterWordRequest> asked;
  std::vector<FourLetterWordReply> ask(const std::vector<FourLetterWordRequest>& requests,
                                       std::chrono::steady_clock::time_point) override {
    asked = requests;
    std::vector<FourLetterWordReply> out;
    for (const auto& [server, prefix] : prefix_of) {
      auto r = prefix.empty() ? dead(server) : replies_of(server, prefix);
      out.insert(out.end(), r.begin(), r.end());
    }
    return out;
  }
};

class FakeRegistry final : public KafkaRegistrySource {
 public:
  Result<KafkaRegistry> read(std::chrono::steady_clock::time_point) override {
    return Error{ErrorKind::kConnect, "z1,z2", "no ZooKeeper session within 2000ms (connecting)"};
  }
};

TEST(ZookeeperCollector, AsksEveryServerEveryWordAndNeverResets) {
  ZookeeperOptions options;
  options.servers = {"z1:1", "z2:1", "z3:1"};
  auto client = std::make_unique<FakeClient>();
  auto* fake = client.get();
  fake->prefix_of = {{"z1:1", "follower"}, {"z2:1", "leader"}, {"z3:1", ""}};
  ZookeeperCollector collector(options, std::move(client), std::make_unique<FakeRegistry>());
  EXPECT_EQ(collector.name(), "zookeeper");
  auto result = collector.collect(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(fake->asked.size(), 12u);
  for (const auto& r : fake->asked) EXPECT_FALSE(is_forbidden_word(r.word)) << r.word;
  EXPECT_EQ(value(result->families, "zookeeper_up", {"z3:1"}), 0);
  EXPECT_EQ(value(result->families, "zookeeper_registry_up"), 0);
  // 4 connect errors of z3 plus the registry's.
  ASSERT_EQ(result->errors.size(), 5u);
  EXPECT_EQ(result->errors.back().kind, ErrorKind::kConnect);
}

}  // namespace
}  // namespace khe
