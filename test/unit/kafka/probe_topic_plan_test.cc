// How the probe makes every broker lead one of its partitions, or says why it cannot.
#include "khe/kafka/probe_topic_plan.h"

#include <gtest/gtest.h>

namespace khe {
namespace {

using Assignment = std::vector<std::vector<std::int32_t>>;

PartitionInfo partition(std::int32_t id, std::vector<std::int32_t> replicas) {
  PartitionInfo p;
  p.partition = id;
  p.leader = replicas.front();
  p.replicas = replicas;
  p.isr = replicas;
  return p;
}

TEST(ProbeTopicPlan, AMissingTopicIsCreatedWithOnePartitionLedByEachBroker) {
  ProbeOptions options;
  auto plan = plan_probe_topic({5, 3, 4}, std::nullopt, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kCreate);
  // Preferred leaders 3, 4, 5; followers go round the ring; replication min(3, brokers).
  EXPECT_EQ(plan.assignment, (Assignment{{3, 4, 5}, {4, 5, 3}, {5, 3, 4}}));
  EXPECT_EQ(plan.uncovered_brokers, (std::vector<std::int32_t>{3, 4, 5}));
  EXPECT_TRUE(plan.problem.empty());

  options.partitions_per_broker = 2;
  options.replication_factor = 2;
  plan = plan_probe_topic({0, 1}, std::nullopt, options);
  EXPECT_EQ(plan.assignment, (Assignment{{0, 1}, {1, 0}, {0, 1}, {1, 0}}));
  // A single broker gets a single replica.
  plan = plan_probe_topic({0}, std::nullopt, ProbeOptions{});
  EXPECT_EQ(plan.assignment, (Assignment{{0}}));
}

TEST(ProbeTopicPlan, AMissingTopicThatMayNotBeCreatedIsReported) {
  ProbeOptions options;
  options.create_topic = false;
  auto plan = plan_probe_topic({0, 1, 2}, std::nullopt, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kNone);
  EXPECT_EQ(plan.problem,
            "topic 'kafka-hub-exporter-probe' does not exist and probe.create_topic is false");
  options.create_topic = true;
  options.replication_factor = 4;
  plan = plan_probe_topic({0, 1, 2}, std::nullopt, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kNone);
  EXPECT_EQ(plan.problem,
            "topic 'kafka-hub-exporter-probe' cannot be created: probe.replication_factor 4 is "
            "more than the 3 brokers");
}

TEST(ProbeTopicPlan, ATopicWhereEveryBrokerIsAPreferredLeaderIsLeftAlone) {
  auto plan =
      plan_probe_topic({0, 1, 2},
                       std::vector<PartitionInfo>{partition(0, {2, 0}), partition(1, {0, 1}),
                                                  partition(2, {1, 2}), partition(3, {1, 0})},
                       ProbeOptions{});
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kNone);
  EXPECT_TRUE(plan.uncovered_brokers.empty());
  EXPECT_TRUE(plan.problem.empty());
}

TEST(ProbeTopicPlan, UncoveredBrokersAreReportedUnlessPartitionsMayBeAdded) {
  std::vector<PartitionInfo> one{partition(0, {1, 2, 0})};
  ProbeOptions options;
  auto plan = plan_probe_topic({0, 1, 2}, one, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kNone);
  EXPECT_EQ(plan.uncovered_brokers, (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(plan.problem,
            "brokers 0, 2 are the preferred leader of no partition of topic "
            "'kafka-hub-exporter-probe' (1 partitions); probe.add_partitions is false, so it is "
            "not probed");

  options.add_partitions = true;
  plan = plan_probe_topic({0, 1, 2}, one, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kAddPartitions);
  // One new partition per uncovered broker, led by it, with the topic's replication factor.
  EXPECT_EQ(plan.assignment, (Assignment{{0, 1, 2}, {2, 0, 1}}));
}

TEST(ProbeTopicPlan, ANewBrokerGetsItsOwnPartitionWhenAllowed) {
  std::vector<PartitionInfo> three{partition(0, {0, 1}), partition(1, {1, 2}),
                                   partition(2, {2, 0})};
  ProbeOptions options;
  options.add_partitions = true;
  auto plan = plan_probe_topic({0, 1, 2, 3}, three, options);
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kAddPartitions);
  EXPECT_EQ(plan.uncovered_brokers, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(plan.assignment, (Assignment{{3, 0}}));
  EXPECT_EQ(plan.problem.rfind("broker 3 is the preferred leader of no partition", 0), 0u)
      << plan.problem;
}

TEST(ProbeTopicPlan, NoBrokersKnownMeansNothingToPlan) {
  auto plan = plan_probe_topic({}, std::nullopt, ProbeOptions{});
  EXPECT_EQ(plan.action, ProbeTopicPlan::Action::kNone);
  EXPECT_TRUE(plan.problem.empty());
}

}  // namespace
}  // namespace khe
