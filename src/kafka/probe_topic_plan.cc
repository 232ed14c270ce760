#include "khe/kafka/probe_topic_plan.h"

#include <algorithm>
#include <set>

namespace khe {
namespace {

// `replication` replicas starting at broker `first` and going round the sorted broker list, so
// consecutive partitions spread their followers evenly too.
std::vector<std::int32_t> replicas_from(const std::vector<std::int32_t>& brokers, std::size_t first,
                                        std::size_t replication) {
  std::vector<std::int32_t> replicas;
  for (std::size_t i = 0; i < replication; ++i)
    replicas.push_back(brokers[(first + i) % brokers.size()]);
  return replicas;
}

std::string id_list(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

}  // namespace

ProbeTopicPlan plan_probe_topic(std::vector<std::int32_t> brokers,
                                const std::optional<std::vector<PartitionInfo>>& existing,
                                const ProbeOptions& options) {
  ProbeTopicPlan plan;
  std::sort(brokers.begin(), brokers.end());
  brokers.erase(std::unique(brokers.begin(), brokers.end()), brokers.end());
  if (brokers.empty()) return plan;  // nothing known yet
  const auto per_broker = static_cast<std::size_t>(std::max(1, options.partitions_per_broker));

  if (!existing) {
    plan.uncovered_brokers = brokers;
    std::size_t replication = options.replication_factor > 0
                                  ? static_cast<std::size_t>(options.replication_factor)
                                  : std::min<std::size_t>(3, brokers.size());
    if (!options.create_topic) {
      plan.problem = "topic '" + options.topic + "' does not exist and probe.create_topic is false";
      return plan;
    }
    if (replication > brokers.size()) {
      plan.problem = "topic '" + options.topic + "' cannot be created: probe.replication_factor " +
                     std::to_string(replication) + " is more than the " +
                     std::to_string(brokers.size()) + " brokers";
      return plan;
    }
    plan.action = ProbeTopicPlan::Action::kCreate;
    for (std::size_t round = 0; round < per_broker; ++round) {
      for (std::size_t b = 0; b < brokers.size(); ++b) {
        plan.assignment.push_back(replicas_from(brokers, b, replication));
      }
    }
    return plan;
  }

  std::set<std::int32_t> preferred;
  std::size_t replication = 0;
  for (const auto& p : *existing) {
    if (!p.replicas.empty()) preferred.insert(p.replicas.front());
    replication = std::max(replication, p.replicas.size());
  }
  for (auto b : brokers) {
    if (preferred.count(b) == 0) plan.uncovered_brokers.push_back(b);
  }
  if (plan.uncovered_brokers.empty()) return plan;

  std::string uncovered = "brokers " + id_list(plan.uncovered_brokers) +
                          " are the preferred leader of no partition of topic '" + options.topic +
                          "' (" + std::to_string(existing->size()) + " partitions)";
  if (plan.uncovered_brokers.size() == 1) {
    uncovered = "broker " + id_list(plan.uncovered_brokers) +
                " is the preferred leader of no partition of topic '" + options.topic + "' (" +
                std::to_string(existing->size()) + " partitions)";
  }
  if (!options.add_partitions) {
    plan.problem = uncovered + "; probe.add_partitions is false, so it is not probed";
    return plan;
  }
  // New partitions must have the topic's replication factor (Kafka refuses a mix).
  replication = std::clamp<std::size_t>(replication, 1, brokers.size());
  plan.action = ProbeTopicPlan::Action::kAddPartitions;
  plan.problem = uncovered + "; adding partitions";
  for (std::size_t round = 0; round < per_broker; ++round) {
    for (auto b : plan.uncovered_brokers) {
      auto at =
          static_cast<std::size_t>(std::find(brokers.begin(), brokers.end(), b) - brokers.begin());
      plan.assignment.push_back(replicas_from(brokers, at, replication));
    }
  }
  return plan;
}

}  // namespace khe
