// What the probe does about its topic so that every broker leads one of its partitions: create
// it, add partitions, or only report why it cannot. Pure: the agent calls it with the cluster's
// metadata after each refresh and carries out the plan.
//
// "Every broker leads one" is judged by preferred leaders (each partition's first replica):
// Kafka moves leadership back to them by itself (auto.leader.rebalance.enable), so that is what
// a topic can be made to guarantee. The current leaders are reported separately.
//
// Existing partitions are never reassigned (librdkafka 2.0.2 has no
// AlterPartitionReassignments); a broker that is nobody's preferred leader gets new partitions
// whose first replica it is, when probe.add_partitions allows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "khe/kafka/lag_model.h"
#include "khe/kafka/probe_options.h"

namespace khe {

struct ProbeTopicPlan {
  enum class Action { kNone, kCreate, kAddPartitions };
  Action action = Action::kNone;
  // Replicas (first = preferred leader) of each partition to create: all of them for kCreate,
  // only the new ones (appended after the existing partitions) for kAddPartitions.
  std::vector<std::vector<std::int32_t>> assignment;
  // Brokers that are the preferred leader of no existing partition (all brokers when the topic
  // does not exist).
  std::vector<std::int32_t> uncovered_brokers;
  // Why the topic does not (or will not, when the action fails) exercise every broker, for the
  // log; empty when all is well.
  std::string problem;
};

// `brokers`: every broker id of the cluster. `existing`: the topic's partitions, or nullopt if
// the topic does not exist.
ProbeTopicPlan plan_probe_topic(std::vector<std::int32_t> brokers,
                                const std::optional<std::vector<PartitionInfo>>& existing,
                                const ProbeOptions& options);

}  // namespace khe
