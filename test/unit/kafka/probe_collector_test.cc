// The probe's collector and families, on reports from a stand-in worker.
#include "khe/kafka/probe_collector.h"

#include <gtest/gtest.h>

#include <deque>

#include "khe/kafka/probe_families.h"

namespace khe {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000'000 * kMs;

class ScriptedSource final : public ProbeSource {
 public:
  explicit ScriptedSource(std::deque<Result<ProbeReport>>* script) : script_(script) {}
  Result<ProbeReport> report(std::chrono::steady_clock::time_point) override {
    auto next = std::move(script_->front());
    script_->pop_front();
    return next;
  }

 private:
  std::deque<Result<ProbeReport>>* script_;
};

ProbeTopicState three_partitions() {
  ProbeTopicState t;
  t.known = t.exists = true;
  t.brokers = {0, 1, 2};
  for (std::int32_t p = 0; p < 3; ++p) {
    PartitionInfo info;
    info.partition = p;
    info.leader = p;
    info.replicas = {p};
    t.partitions.push_back(info);
  }
  return t;
}

ProbeReport report_at(std::int64_t drained_ms) {
  ProbeReport r;
  r.run = 1;
  r.started_ns = kT0;
  r.drained_ns = kT0 + drained_ms * kMs;
  r.topic = three_partitions();
  return r;
}

const Family* find(const std::vector<Family>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double value_of(const Family& f, const std::vector<std::string>& labels,
                SampleSuffix suffix = SampleSuffix::kNone) {
  for (const auto& s : f.samples) {
    if (s.label_values == labels && s.suffix == suffix) return s.value;
  }
  ADD_FAILURE() << f.name << " has no sample with those labels";
  return -1;
}

TEST(ProbeCollector, AccountsAcrossReportsAndPublishesEveryPartitionFromTheStart) {
  std::deque<Result<ProbeReport>> script;
  auto first = report_at(100);
  script.push_back(first);
  auto second = report_at(1100);
  ProbeMessageId id{1, 1};
  second.sends.push_back({id, 1, 1, kT0 + 1000 * kMs});
  second.acks.push_back({id, 1, kT0 + 1000 * kMs, kT0 + 1003 * kMs, ""});
  second.receipts.push_back({id, 1, kT0 + 1000 * kMs, kT0 + 1008 * kMs});
  script.push_back(second);
  script.push_back(Error{ErrorKind::kWorker, "probe worker", "the worker died"});

  ProbeOptions options;
  options.latency_buckets = {0.005, 0.01};
  ProbeCollector collector(options, std::make_unique<ScriptedSource>(&script));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);

  auto c1 = collector.collect(deadline);
  ASSERT_TRUE(c1.ok());
  // Zero counters for every partition's leader before anything was sent, so rate() works.
  const auto* produced = find(c1->families, "kafka_probe_messages_produced_total");
  ASSERT_NE(produced, nullptr);
  EXPECT_EQ(produced->type, MetricType::kCounter);
  EXPECT_EQ(produced->label_names, (std::vector<std::string>{"partition", "broker"}));
  EXPECT_EQ(produced->samples.size(), 3u);
  EXPECT_EQ(value_of(*produced, {"2", "2"}), 0);

  auto c2 = collector.collect(deadline);
  ASSERT_TRUE(c2.ok());
  const auto& f = c2->families;
  EXPECT_EQ(value_of(*find(f, "kafka_probe_messages_received_total"), {"1", "1"}), 1);
  const auto* e2e = find(f, "kafka_probe_end_to_end_latency_seconds");
  ASSERT_NE(e2e, nullptr);
  EXPECT_EQ(e2e->type, MetricType::kHistogram);
  // 8 ms: above the 0.005 bucket, inside 0.01 and +Inf; cumulative counts.
  EXPECT_EQ(value_of(*e2e, {"1", "0.005"}, SampleSuffix::kBucket), 0);
  EXPECT_EQ(value_of(*e2e, {"1", "0.01"}, SampleSuffix::kBucket), 1);
  EXPECT_EQ(value_of(*e2e, {"1", "+Inf"}, SampleSuffix::kBucket), 1);
  EXPECT_EQ(value_of(*e2e, {"1", ""}, SampleSuffix::kCount), 1);
  EXPECT_NEAR(value_of(*e2e, {"1", ""}, SampleSuffix::kSum), 0.008, 1e-9);
  const auto* produce = find(f, "kafka_probe_produce_latency_seconds");
  EXPECT_EQ(value_of(*produce, {"1", "1", "0.005"}, SampleSuffix::kBucket), 1);
  EXPECT_EQ(value_of(*find(f, "kafka_probe_topic_partitions"), {}), 3);
  EXPECT_EQ(value_of(*find(f, "kafka_probe_broker_led_partitions"), {"0"}), 1);
  EXPECT_EQ(value_of(*find(f, "kafka_probe_topic_uncovered_brokers"), {}), 0);

  // A worker that does not answer fails the collection; the ledger keeps its counts.
  auto c3 = collector.collect(deadline);
  ASSERT_FALSE(c3.ok());
  EXPECT_EQ(c3.error().kind, ErrorKind::kWorker);
  EXPECT_EQ(collector.ledger().counts().at({1, 1}).received, 1u);
}

TEST(ProbeFamilies, LeadershipCountsEveryBrokerAndLeavesOutTopicSeriesBeforeMetadata) {
  ProbeLedger ledger({0.01}, std::chrono::seconds(10));
  ProbeTopicState unknown;
  auto families = build_probe_families(ledger, unknown);
  EXPECT_EQ(find(families, "kafka_probe_topic_partitions"), nullptr);
  EXPECT_NE(find(families, "kafka_probe_offset_commit_latency_seconds"), nullptr);

  auto topic = three_partitions();
  topic.partitions[0].leader = 2;   // broker 0 lost its leadership
  topic.partitions[1].leader = -1;  // offline
  topic.uncovered_brokers = {};
  families = build_probe_families(ledger, topic);
  const auto* led = find(families, "kafka_probe_broker_led_partitions");
  ASSERT_NE(led, nullptr);
  EXPECT_EQ(value_of(*led, {"0"}), 0);
  EXPECT_EQ(value_of(*led, {"1"}), 0);
  EXPECT_EQ(value_of(*led, {"2"}), 2);
}

}  // namespace
}  // namespace khe
