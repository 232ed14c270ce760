#include "khe/kafka/lag_collector.h"

#include <gtest/gtest.h>

namespace khe {
namespace {

// A scripted OffsetsSource: what a cluster answers, and a log of what was asked.
class FakeSource final : public OffsetsSource {
 public:
  ClusterMetadata md;
  std::vector<GroupListing> listing;
  std::map<std::string, GroupOffsets> offsets;
  std::map<TopicPartition, Watermark> marks;
  bool metadata_fails = false;
  std::vector<std::string> described;
  std::vector<TopicPartition> watermark_requests;

  Result<ClusterMetadata> metadata(std::chrono::milliseconds) override {
    if (metadata_fails) return Error{ErrorKind::kConnect, "b:9092", "refused"};
    return md;
  }
  WatermarkResult watermarks(const ClusterMetadata&, const std::vector<TopicPartition>& tps,
                             std::chrono::milliseconds) override {
    watermark_requests = tps;
    WatermarkResult r;
    for (const auto& tp : tps) {
      if (marks.count(tp)) r.offsets[tp] = marks[tp];
      else r.failed[tp] = "timed_out";
    }
    return r;
  }
  Result<GroupList> list_groups(std::chrono::milliseconds) override { return GroupList{listing, {}}; }
  GroupDetails group_details(const std::vector<std::string>& groups,
                             std::chrono::milliseconds) override {
    described = groups;
    GroupDetails d;
    for (const auto& g : groups) {
      d.descriptions.push_back({g, "Empty", "", "consumer", 1, {}});
      if (offsets.count(g)) d.offsets.push_back(offsets[g]);
    }
    return d;
  }
  std::string client_version() const override { return "fake"; }
};

std::optional<double> find(const std::vector<Family>& fs, const std::string& name,
                           const std::vector<std::string>& prefix) {
  for (const auto& f : fs) {
    if (f.name != name) continue;
    for (const auto& s : f.samples) {
      if (std::equal(prefix.begin(), prefix.end(), s.label_values.begin())) return s.value;
    }
  }
  return std::nullopt;
}

struct Fixture {
  FakeSource* source;
  std::unique_ptr<LagCollector> collector;
};

Fixture make(KafkaOptions options) {
  auto src = std::make_unique<FakeSource>();
  auto* raw = src.get();
  raw->md.brokers = {{0, "h", 1}};
  raw->md.topics = {{"orders", false, {{0, 0, {0}, {0}, ""}, {1, 0, {0}, {0}, ""}}},
                    {"audit", false, {{0, 0, {0}, {0}, ""}}},
                    {"__consumer_offsets", true, {{0, 0, {0}, {0}, ""}}}};
  raw->marks = {{{"orders", 0}, {0, 10}}, {{"orders", 1}, {0, 20}}, {{"audit", 0}, {0, 5}},
                {{"__consumer_offsets", 0}, {0, 7}}};
  raw->listing = {{"app", "Empty", false}, {"tmp-console", "Empty", false}};
  raw->offsets["app"] = {"app", {{{"orders", 0}, 4}, {{"audit", 0}, 1}}};
  return {raw, std::make_unique<LagCollector>(std::move(options), std::move(src))};
}

auto soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(5); }

TEST(LagCollector, ComputesLagFromCommittedOffsetsAndWatermarks) {
  auto fx = make(KafkaOptions{});
  auto result = fx.collector->collect(soon());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_lag", {"default", "app", "orders", "0"}), 6);
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_lag", {"default", "app", "audit", "0"}), 4);
  EXPECT_FALSE(find(result->families, "kafka_consumergroup_group_lag", {"default", "app", "orders", "1"}));
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_sum_lag", {"default", "app"}), 10);
}

TEST(LagCollector, InternalTopicsAreSkippedUnlessAsked) {
  auto fx = make(KafkaOptions{});
  ASSERT_TRUE(fx.collector->collect(soon()).ok());
  for (const auto& tp : fx.source->watermark_requests) EXPECT_NE(tp.topic, "__consumer_offsets");
  KafkaOptions with_internal;
  with_internal.include_internal_topics = true;
  auto fx2 = make(with_internal);
  ASSERT_TRUE(fx2.collector->collect(soon()).ok());
  EXPECT_EQ(fx2.source->watermark_requests.size(), 4u);
}

TEST(LagCollector, FiltersApplyBeforeFetching) {
  KafkaOptions options;
  options.topic_filter = NameFilter::create({"orders"}, {}).value();
  options.group_filter = NameFilter::create({}, {"tmp-.*"}).value();
  auto fx = make(options);
  auto result = fx.collector->collect(soon());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(fx.source->described, std::vector<std::string>{"app"});
  ASSERT_EQ(fx.source->watermark_requests.size(), 2u);
  EXPECT_FALSE(find(result->families, "kafka_consumergroup_group_offset", {"default", "app", "audit", "0"}));
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_sum_lag", {"default", "app"}), 6);
}

TEST(LagCollector, UnavailablePartitionsAreMarkedAndOthersKept) {
  auto fx = make(KafkaOptions{});
  fx.source->marks.erase({"orders", 0});
  auto result = fx.collector->collect(soon());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(find(result->families, "kafka_hub_exporter_partition_offsets_unavailable",
                 {"orders", "0", "timed_out"}),
            1);
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_lag", {"default", "app", "audit", "0"}), 4);
  EXPECT_EQ(find(result->families, "kafka_consumergroup_group_offset", {"default", "app", "orders", "0"}), 4);
}

TEST(LagCollector, MetadataFailureFailsTheCollection) {
  auto fx = make(KafkaOptions{});
  fx.source->metadata_fails = true;
  auto result = fx.collector->collect(soon());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kConnect);
}

}  // namespace
}  // namespace khe
