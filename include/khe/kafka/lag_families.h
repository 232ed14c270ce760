// Turns one poll's ClusterView into metric families: broker, topic and partition state, and
// consumer-group offsets and lag under the configured naming. Pure and deterministic (sorted
// by topic, partition and group), so it is unit-tested on hand-built views.
#pragma once

#include <string>
#include <vector>

#include "khe/core/metric_family.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/lag_history.h"
#include "khe/kafka/lag_model.h"

namespace khe {

struct LagFamilyOptions {
  std::string cluster_name = "default";
  LagNaming naming = LagNaming::kKafkaLagExporter;
  bool per_partition_series = true;
};

// `insights` (lag in seconds, consumer status) come from LagHistory; without them those
// families are left out.
std::vector<Family> build_lag_families(const ClusterView& view, const LagFamilyOptions& options,
                                       const LagInsights* insights = nullptr);

}  // namespace khe
