// Settings of the Kafka (consumer lag) collector, as validated by the config loader.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "khe/core/regex_filter.h"

namespace khe {

// Which metric names to publish for lag. kafka-lag-exporter's (the seed's dashboards use them),
// kafka_exporter's (Grafana dashboard 7589 and Strimzi's), or both during a migration.
enum class LagNaming { kKafkaLagExporter, kKafkaExporter, kBoth };

struct KafkaOptions {
  std::string cluster_name = "default";
  std::vector<std::string> bootstrap_servers;
  // Passed to librdkafka unchanged (security.protocol, sasl.*, ssl.*, ...). May hold secrets:
  // never log or print the values.
  std::map<std::string, std::string> properties;
  std::chrono::milliseconds poll_interval{30'000};
  std::chrono::milliseconds poll_timeout{20'000};  // deadline of one collection, < poll_interval
  LagNaming naming = LagNaming::kKafkaLagExporter;
  bool per_partition_series = true;
  bool include_internal_topics = false;
  int max_concurrent_group_requests = 32;
  std::size_t lag_seconds_table_size = 60;  // (latest offset, time) points kept per partition
  // Records read per poll to learn the exact age of lagging committed offsets; 0 turns it off
  // (lag_seconds then comes from interpolation only).
  int lag_seconds_record_budget = 1000;
  std::size_t status_window = 10;           // commits kept per group and partition (Burrow)
  std::int64_t status_allowed_lag = 0;      // Burrow's allowed lag
  NameFilter topic_filter;
  NameFilter group_filter;
};

}  // namespace khe
