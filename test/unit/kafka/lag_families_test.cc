#include "khe/kafka/lag_families.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

namespace khe {
namespace {

// Finds the value of the sample whose labels include all of `labels`.
std::optional<double> value_of(const std::vector<Family>& families, const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& s : f.samples) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = std::find(f.label_names.begin(), f.label_names.end(), k);
        if (it == f.label_names.end() ||
            s.label_values[static_cast<std::size_t>(it - f.label_names.begin())] != v) {
          match = false;
          break;
        }
      }
      if (match) return s.value;
    }
  }
  return std::nullopt;
}

std::size_t count_of(const std::vector<Family>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return f.samples.size();
  }
  return 0;
}

ClusterView sample_view() {
  ClusterView v;
  v.metadata.brokers = {{1, "b1", 9092}, {2, "b2", 9092}, {3, "b3", 9092}};
  v.metadata.controller_id = 2;
  TopicInfo orders{"orders", false, {}};
  orders.partitions.push_back({0, 1, {1, 2, 3}, {1, 2, 3}, ""});
  orders.partitions.push_back({1, 3, {2, 3, 1}, {3, 1}, ""});  // URP, leader not preferred
  orders.partitions.push_back({2, -1, {4}, {}, "leader_not_available"});  // offline
  v.metadata.topics.push_back(orders);
  v.watermarks[{"orders", 0}] = {0, 100};
  v.watermarks[{"orders", 1}] = {10, 50};
  v.partition_errors[{"orders", 2}] = "no_leader";

  ClusterView::Group active;
  active.group = "active";
  GroupDescription d;
  d.group = "active";
  d.state = "Stable";
  d.protocol = "range";
  d.protocol_type = "consumer";
  d.coordinator_id = 1;
  d.members.push_back({"c-1", "client-1", "10.0.0.1", {{"orders", 0}}});
  active.description = d;
  active.committed[{"orders", 0}] = 70;   // lag 30
  active.committed[{"orders", 1}] = 60;   // ahead of the watermark read: lag 0, never negative
  active.committed[{"orders", 2}] = 5;    // watermark unknown: offset but no lag
  v.groups.push_back(active);

  ClusterView::Group empty;
  empty.group = "stopped";
  GroupDescription e;
  e.group = "stopped";
  e.state = "Empty";
  e.protocol_type = "consumer";
  e.coordinator_id = 3;
  empty.description = e;
  empty.committed[{"orders", 1}] = 20;  // lag 30
  v.groups.push_back(empty);
  return v;
}

TEST(ConsumerLag, IsLatestMinusCommittedNeverNegative) {
  EXPECT_EQ(consumer_lag(100, 70), 30);
  EXPECT_EQ(consumer_lag(100, 100), 0);
  EXPECT_EQ(consumer_lag(100, 120), 0);
  EXPECT_FALSE(consumer_lag(100, -1001).has_value());
  EXPECT_FALSE(consumer_lag(-1, 5).has_value());
}

TEST(LagFamilies, LagExporterNamesWithMemberLabels) {
  auto f = build_lag_families(sample_view(), {"prod", LagNaming::kKafkaLagExporter, true});
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_lag",
                     {{"cluster_name", "prod"}, {"group", "active"}, {"topic", "orders"},
                      {"partition", "0"}, {"member_host", "10.0.0.1"}, {"consumer_id", "c-1"},
                      {"client_id", "client-1"}}),
            30);
  // Unassigned partition of a group with members: "unknown" member labels.
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_lag",
                     {{"group", "active"}, {"partition", "1"}, {"member_host", "unknown"},
                      {"consumer_id", "unknown"}, {"client_id", "unknown"}}),
            0);
  EXPECT_FALSE(value_of(f, "kafka_consumergroup_group_lag", {{"group", "active"}, {"partition", "2"}}));
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_offset", {{"group", "active"}, {"partition", "2"}}), 5);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_max_lag", {{"group", "active"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_sum_lag", {{"group", "active"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_topic_sum_lag", {{"group", "stopped"}, {"topic", "orders"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_members", {{"group", "active"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_members", {{"group", "stopped"}}), 0);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_info", {{"group", "stopped"}, {"state", "Empty"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_partition_latest_offset", {{"topic", "orders"}, {"partition", "0"}}), 100);
  EXPECT_EQ(value_of(f, "kafka_partition_earliest_offset", {{"topic", "orders"}, {"partition", "1"}}), 10);
  EXPECT_EQ(count_of(f, "kafka_consumergroup_lag"), 0u);  // no kafka_exporter names by default
}

TEST(LagFamilies, KafkaExporterNames) {
  auto f = build_lag_families(sample_view(), {"prod", LagNaming::kKafkaExporter, true});
  EXPECT_EQ(value_of(f, "kafka_consumergroup_lag", {{"consumergroup", "active"}, {"topic", "orders"}, {"partition", "0"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_lag_sum", {{"consumergroup", "active"}, {"topic", "orders"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_current_offset_sum", {{"consumergroup", "active"}, {"topic", "orders"}}), 135);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_members", {{"consumergroup", "active"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_current_offset", {{"topic", "orders"}, {"partition", "0"}}), 100);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_oldest_offset", {{"topic", "orders"}, {"partition", "1"}}), 10);
  EXPECT_EQ(count_of(f, "kafka_consumergroup_group_lag"), 0u);
}

TEST(LagFamilies, BothNamings) {
  auto f = build_lag_families(sample_view(), {"prod", LagNaming::kBoth, true});
  EXPECT_GT(count_of(f, "kafka_consumergroup_lag"), 0u);
  EXPECT_GT(count_of(f, "kafka_consumergroup_group_lag"), 0u);
}

TEST(LagFamilies, TopicAndBrokerState) {
  auto f = build_lag_families(sample_view(), {"prod", LagNaming::kKafkaLagExporter, true});
  EXPECT_EQ(value_of(f, "kafka_brokers"), 3);
  EXPECT_EQ(value_of(f, "kafka_broker_is_controller", {{"id", "2"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_broker_is_controller", {{"id", "1"}}), 0);
  EXPECT_EQ(value_of(f, "kafka_cluster_active_controller_id"), 2);
  EXPECT_EQ(value_of(f, "kafka_broker_info", {{"id", "3"}, {"address", "b3:9092"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_topic_partitions", {{"topic", "orders"}}), 3);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_under_replicated_partition", {{"partition", "1"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_leader_is_preferred", {{"partition", "1"}}), 0);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_leader_is_preferred", {{"partition", "0"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_leader", {{"partition", "2"}}), -1);
  EXPECT_EQ(value_of(f, "kafka_topic_partition_offline_replicas", {{"partition", "2"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_topic_offline_partitions", {{"topic", "orders"}}), 1);
  EXPECT_EQ(value_of(f, "kafka_cluster_offline_partitions"), 1);
  EXPECT_EQ(value_of(f, "kafka_cluster_under_replicated_partitions"), 2);
  EXPECT_EQ(value_of(f, "kafka_hub_exporter_partition_offsets_unavailable",
                     {{"topic", "orders"}, {"partition", "2"}, {"reason", "no_leader"}}),
            1);
}

TEST(LagFamilies, PerPartitionSeriesCanBeTurnedOff) {
  auto f = build_lag_families(sample_view(), {"prod", LagNaming::kBoth, false});
  for (const char* name : {"kafka_consumergroup_group_lag", "kafka_consumergroup_group_offset",
                           "kafka_consumergroup_lag", "kafka_consumergroup_current_offset",
                           "kafka_partition_latest_offset", "kafka_topic_partition_current_offset",
                           "kafka_topic_partition_leader"}) {
    EXPECT_EQ(count_of(f, name), 0u) << name;
  }
  EXPECT_EQ(value_of(f, "kafka_consumergroup_group_max_lag", {{"group", "active"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_consumergroup_lag_sum", {{"consumergroup", "stopped"}}), 30);
  EXPECT_EQ(value_of(f, "kafka_topic_under_replicated_partitions", {{"topic", "orders"}}), 2);
}

TEST(LagFamilies, GroupWithoutAnyLagHasNoMaxOrSum) {
  ClusterView v = sample_view();
  v.groups.resize(1);
  v.groups[0].committed = {{{"orders", 2}, 5}};  // only the partition whose watermark is unknown
  auto f = build_lag_families(v, {"prod", LagNaming::kKafkaLagExporter, true});
  EXPECT_FALSE(value_of(f, "kafka_consumergroup_group_max_lag", {{"group", "active"}}));
  EXPECT_FALSE(value_of(f, "kafka_consumergroup_group_sum_lag", {{"group", "active"}}));
}

}  // namespace
}  // namespace khe
