#include "khe/zookeeper/four_letter_words.h"

#include <gtest/gtest.h>

#include "captured.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "khe/zookeeper/zookeeper_families.h"

namespace khe {
namespace {

// Replies captured from a real ZooKeeper 3.8.3 ensemble started by test/cluster/cluster.

TEST(ClassifyReply, SpecialSentencesExactly) {
  EXPECT_EQ(classify_reply("mntr", captured("not_serving_mntr.txt")), ReplyKind::kNotServing);
  EXPECT_EQ(classify_reply("srvr", captured("not_serving_srvr.txt")), ReplyKind::kNotServing);
  EXPECT_EQ(classify_reply("mntr", captured("whitelisted_mntr.txt")), ReplyKind::kNotWhitelisted);
  EXPECT_EQ(classify_reply("isro", captured("whitelisted_isro.txt")), ReplyKind::kNotWhitelisted);
  EXPECT_EQ(classify_reply("mntr", ""), ReplyKind::kEmpty);
  EXPECT_EQ(classify_reply("mntr", captured("leader_mntr.txt")), ReplyKind::kContent);
  EXPECT_EQ(classify_reply("ruok", "imok"), ReplyKind::kContent);
  // Another word's refusal, or the sentence without its newline, is not a refusal of this word.
  EXPECT_EQ(classify_reply("srvr", captured("whitelisted_mntr.txt")), ReplyKind::kContent);
  EXPECT_EQ(classify_reply("mntr", "This ZooKeeper instance is not currently serving requests"),
            ReplyKind::kContent);
}

// Every line of a captured mntr reply, read independently of the parser.
std::vector<std::pair<std::string, std::string>> lines_of(const std::string& reply) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(reply);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    out.emplace_back(line.substr(3, tab - 3), line.substr(tab + 1));
  }
  return out;
}

class CapturedMntr : public ::testing::TestWithParam<std::string> {};

TEST_P(CapturedMntr, EveryKeyIsParsedWithItsValue) {
  auto reply = captured(GetParam());
  auto stats = parse_mntr(reply);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  auto lines = lines_of(reply);
  ASSERT_EQ(stats->entries.size(), lines.size());
  ASSERT_GT(lines.size(), 500u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& e = stats->entries[i];
    EXPECT_EQ(e.key, lines[i].first);
    EXPECT_EQ(e.text, lines[i].second);
    if (e.key == "version" || e.key == "server_state" || e.key == "peer_state") {
      EXPECT_FALSE(e.number) << e.key;
    } else {
      ASSERT_TRUE(e.number) << e.key << "=" << e.text;
      EXPECT_DOUBLE_EQ(*e.number, std::stod(lines[i].second)) << e.key;
    }
  }
  EXPECT_NE(stats->text("version").find("3.8.3"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Zookeeper38, CapturedMntr,
                         ::testing::Values("leader_mntr.txt", "follower_mntr.txt",
                                           "standalone_mntr.txt"));

TEST(ParseMntr, RolesAndEnsembleKeys) {
  auto leader = parse_mntr(captured("leader_mntr.txt"));
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->text("server_state"), "leader");
  EXPECT_EQ(leader->number("quorum_size"), 3);
  EXPECT_EQ(leader->number("synced_followers"), 1);  // captured with the third node dead
  EXPECT_EQ(leader->number("learners"), 1);
  EXPECT_EQ(leader->number("max_proposal_size"), -1);
  auto follower = parse_mntr(captured("follower_mntr.txt"));
  ASSERT_TRUE(follower.ok());
  EXPECT_EQ(follower->text("server_state"), "follower");
  EXPECT_FALSE(follower->find("synced_followers"));
  auto standalone = parse_mntr(captured("standalone_mntr.txt"));
  ASSERT_TRUE(standalone.ok());
  EXPECT_EQ(standalone->text("server_state"), "standalone");
  EXPECT_FALSE(standalone->find("quorum_size"));
}

TEST(ParseMntr, NumberForms) {
  auto stats = parse_mntr(
      "zk_a\t1\nzk_b\t-1\nzk_c\t0.25\nzk_d\t1.0E-4\nzk_e\tNaN\nzk_f\t9007199254740993\n"
      "zk_g\tleading - broadcast\nzk_h\t\nzk_x-y.z\t3\n");
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->number("a"), 1);
  EXPECT_EQ(stats->number("b"), -1);
  EXPECT_EQ(stats->number("c"), 0.25);
  EXPECT_DOUBLE_EQ(*stats->number("d"), 1.0e-4);
  EXPECT_TRUE(std::isnan(*stats->number("e")));
  EXPECT_DOUBLE_EQ(*stats->number("f"), 9007199254740993.0);
  EXPECT_FALSE(stats->number("g"));
  EXPECT_EQ(stats->text("g"), "leading - broadcast");
  EXPECT_FALSE(stats->number("h"));
  EXPECT_EQ(stats->number("x_y_z"), 3);  // made a valid metric name part
}

TEST(ParseMntr, GarbageAndTruncationAreErrors) {
  EXPECT_EQ(parse_mntr("").error().message, "mntr: empty reply");
  auto full = captured("leader_mntr.txt");
  auto cut = parse_mntr(full.substr(0, full.size() / 2));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().kind, ErrorKind::kProtocol);
  EXPECT_EQ(cut.error().message, "mntr: reply cut short (no final newline)");
  EXPECT_EQ(parse_mntr("HTTP/1.1 400 Bad Request\r\n").error().message,
            "mntr: line 1 is not zk_<key><TAB><value>: 'HTTP/1.1 400 Bad Request'");
  EXPECT_EQ(parse_mntr("zk_a\t1\nzk_\t2\n").error().message,
            "mntr: line 2 is not zk_<key><TAB><value>: 'zk_?2'");
  EXPECT_EQ(parse_mntr(std::string("zk_a\t1\n\x01\x02garbage\xff\n")).error().message,
            "mntr: line 2 is not zk_<key><TAB><value>: '??garbage?'");
  EXPECT_FALSE(parse_mntr(captured("not_serving_mntr.txt")).ok());
}

TEST(ParseMntr, HugeReplyHasNoLineLimit) {
  std::string reply;
  for (int i = 0; i < 200'000; ++i)
    reply += "zk_key_" + std::to_string(i) + "\t" + std::to_string(i) + "\n";
  auto stats = parse_mntr(reply);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->entries.size(), 200'000u);
  EXPECT_EQ(stats->entries.back().number, 199'999);
}

TEST(ParseSrvr, CapturedReplies) {
  auto leader = parse_srvr(captured("leader_srvr.txt"));
  ASSERT_TRUE(leader.ok()) << leader.error().message;
  EXPECT_EQ(leader->mode, "leader");
  EXPECT_EQ(leader->zxid, 0x200000000u);
  EXPECT_EQ(leader->received, 4);
  EXPECT_EQ(leader->sent, 5);
  EXPECT_EQ(leader->connections, 1);
  EXPECT_EQ(leader->outstanding, 0);
  EXPECT_EQ(leader->node_count, 28);
  EXPECT_NE(leader->version.find("3.8.3"), std::string::npos);
  auto follower = parse_srvr(captured("follower_srvr.txt"));
  ASSERT_TRUE(follower.ok());
  EXPECT_EQ(follower->mode, "follower");
  EXPECT_EQ(follower->zxid, 0x10000001du);
  auto standalone = parse_srvr(captured("standalone_srvr.txt"));
  ASSERT_TRUE(standalone.ok());
  EXPECT_EQ(standalone->mode, "standalone");
  EXPECT_EQ(standalone->latency_min, 0);
  EXPECT_DOUBLE_EQ(standalone->latency_avg, 1.1951);
  EXPECT_EQ(standalone->latency_max, 10);
  auto whitelisted = parse_srvr(captured("whitelisted_srvr.txt"));
  ASSERT_TRUE(whitelisted.ok());
  EXPECT_EQ(whitelisted->mode, "leader");
}

TEST(ParseSrvr, GarbageIsAnError) {
  EXPECT_EQ(parse_srvr("").error().message, "srvr: empty reply");
  EXPECT_EQ(parse_srvr("imok").error().message, "srvr: no Mode line in the reply");
  EXPECT_EQ(parse_srvr("Mode: leader\nZxid: 12\n").error().message,
            "srvr: bad value in 'Zxid: 12'");
  EXPECT_EQ(parse_srvr("Mode: leader\nLatency min/avg/max: 1/2\n").error().message,
            "srvr: bad value in 'Latency min/avg/max: 1/2'");
  EXPECT_EQ(parse_srvr("Mode: leader\nReceived: many\n").error().message,
            "srvr: bad value in 'Received: many'");
  auto full = captured("leader_srvr.txt");
  EXPECT_FALSE(parse_srvr(full.substr(0, 40)).ok());  // cut before Mode
}

TEST(ParseRuokIsro, CapturedAndGarbage) {
  EXPECT_FALSE(parse_ruok(captured("leader_ruok.txt")));
  EXPECT_FALSE(parse_ruok(captured("not_serving_ruok.txt")));  // imok says nothing of quorum
  EXPECT_EQ(parse_ruok("imok\n")->message, "ruok: expected 'imok', got 'imok?'");
  EXPECT_EQ(parse_ruok("")->kind, ErrorKind::kEmptyReply);
  EXPECT_EQ(parse_isro(captured("leader_isro.txt")).value(), IsroState::kReadWrite);
  EXPECT_EQ(parse_isro(captured("not_serving_isro.txt")).value(), IsroState::kNotServing);
  EXPECT_EQ(parse_isro("ro").value(), IsroState::kReadOnly);
  EXPECT_EQ(parse_isro("yes").error().message, "isro: expected rw, ro or null, got 'yes'");
}

TEST(MntrMetricType, RuleOnEveryCapturedKey) {
  // Current values among ZooKeeper 3.8's non-summary keys; every other one is cumulative.
  const std::set<std::string> gauges{"znode_count",
                                     "watch_count",
                                     "ephemerals_count",
                                     "open_file_descriptor_count",
                                     "max_file_descriptor_count",
                                     "num_alive_connections",
                                     "outstanding_requests",
                                     "approximate_data_size",
                                     "last_client_response_size",
                                     "last_proposal_size",
                                     "uptime",
                                     "leader_uptime",
                                     "quorum_size",
                                     "synced_followers",
                                     "synced_non_voting_followers",
                                     "synced_observers",
                                     "pending_syncs",
                                     "learners",
                                     "local_sessions",
                                     "global_sessions",
                                     "connection_drop_probability",
                                     "outstanding_tls_handshake",
                                     "watch_bytes",
                                     "min_client_response_size",
                                     "max_client_response_size",
                                     "min_proposal_size",
                                     "max_proposal_size",
                                     "avg_latency",
                                     "min_latency",
                                     "max_latency"};
  for (const auto* file : {"leader_mntr.txt", "follower_mntr.txt", "standalone_mntr.txt"}) {
    auto stats = parse_mntr(captured(file));
    ASSERT_TRUE(stats.ok());
    for (const auto& e : stats->entries) {
      if (!e.number) continue;
      const auto& k = e.key;
      bool summary_stat = k.starts_with("avg_") || k.starts_with("min_") || k.starts_with("max_") ||
                          k.starts_with("p50_") || k.starts_with("p95_") || k.starts_with("p99_") ||
                          k.starts_with("p999_");
      bool summary_sum = k.starts_with("cnt_") || k.starts_with("sum_");
      MetricType want = summary_sum                       ? MetricType::kCounter
                        : summary_stat || gauges.count(k) ? MetricType::kGauge
                                                          : MetricType::kCounter;
      EXPECT_EQ(mntr_metric_type(k), want) << k;
      EXPECT_EQ(mntr_metric_name(k),
                "zookeeper_" + k + (want == MetricType::kCounter ? "_total" : ""))
          << k;
    }
  }
  EXPECT_EQ(mntr_metric_name("packets_received"), "zookeeper_packets_received_total");
  EXPECT_EQ(mntr_metric_name("znode_count"), "zookeeper_znode_count");
  EXPECT_EQ(mntr_metric_name("looking_count"), "zookeeper_looking_count_total");
  EXPECT_EQ(mntr_metric_name("cnt_write_per_namespace"), "zookeeper_cnt_write_per_namespace_total");
  EXPECT_EQ(mntr_metric_name("p99_write_per_namespace"), "zookeeper_p99_write_per_namespace");
  EXPECT_EQ(mntr_metric_name("some_future_value"), "zookeeper_some_future_value");  // rule 5
}

}  // namespace
}  // namespace khe
