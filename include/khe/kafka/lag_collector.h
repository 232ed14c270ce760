// LagCollector: one poll of a Kafka cluster through a ClusterViewSource, turned into broker,
// topic, partition and consumer-group families. Not thread-safe; run by one CollectorRunner.
#pragma once

#include <memory>
#include <string>

#include "khe/core/collector.h"
#include "khe/kafka/cluster_view_source.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/lag_history.h"

namespace khe {

class LagCollector final : public Collector {
 public:
  LagCollector(KafkaOptions options, std::unique_ptr<ClusterViewSource> source);
  // Convenience for tests and --once: gathers in this process.
  LagCollector(KafkaOptions options, std::unique_ptr<OffsetsSource> source);

  const std::string& name() const override { return name_; }
  std::chrono::milliseconds interval() const override { return options_.poll_interval; }
  std::chrono::milliseconds timeout() const override { return options_.poll_timeout; }
  Result<Collection> collect(std::chrono::steady_clock::time_point deadline) override;

 private:
  std::string name_ = "kafka";
  KafkaOptions options_;
  std::unique_ptr<ClusterViewSource> source_;
  LagHistory history_;
};

}  // namespace khe
