// Plain data the Kafka collector works on, and the lag arithmetic. No librdkafka here: the
// OffsetsSource fills these structs, pure functions turn them into metric families, and unit
// tests build them by hand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "khe/core/error.h"

namespace khe {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;

  bool operator<(const TopicPartition& o) const {
    return std::tie(topic, partition) < std::tie(o.topic, o.partition);
  }
  bool operator==(const TopicPartition& o) const = default;
};

struct TopicPartitionOffset {
  TopicPartition tp;
  std::int64_t offset = 0;

  bool operator<(const TopicPartitionOffset& o) const {
    return std::tie(tp, offset) < std::tie(o.tp, o.offset);
  }
};

struct BrokerInfo {
  std::int32_t id = -1;
  std::string host;
  int port = 0;
};

struct PartitionInfo {
  std::int32_t partition = 0;
  std::int32_t leader = -1;  // -1: no leader (offline)
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> isr;
  std::string error;  // metadata error code name, empty if none
};

struct TopicInfo {
  std::string name;
  bool internal = false;
  std::vector<PartitionInfo> partitions;
};

struct ClusterMetadata {
  std::vector<BrokerInfo> brokers;
  std::int32_t controller_id = -1;
  std::vector<TopicInfo> topics;
};

struct Watermark {
  std::int64_t earliest = -1;
  std::int64_t latest = -1;  // high watermark (read_uncommitted), what kafka-consumer-groups shows
};

struct WatermarkResult {
  std::map<TopicPartition, Watermark> offsets;
  std::map<TopicPartition, std::string> failed;  // partition -> reason
  std::vector<Error> errors;
};

struct GroupListing {
  std::string group;
  std::string state;
  bool simple = false;  // commits offsets without the group protocol (no members ever)
};

struct MemberInfo {
  std::string consumer_id;
  std::string client_id;
  std::string host;
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group;
  std::string state;  // Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown
  std::string protocol;       // partition assignor, e.g. "range"
  std::string protocol_type;  // "consumer", or empty for simple groups
  std::int32_t coordinator_id = -1;
  std::vector<MemberInfo> members;
};

struct GroupOffsets {
  std::string group;
  std::map<TopicPartition, std::int64_t> committed;  // only partitions with a commit
};

// Everything one poll learned, after filtering. Input of build_lag_families().
struct ClusterView {
  ClusterMetadata metadata;
  std::map<TopicPartition, Watermark> watermarks;
  std::map<TopicPartition, std::string> partition_errors;
  struct Group {
    std::string group;
    std::optional<GroupDescription> description;  // absent if describing it failed
    std::map<TopicPartition, std::int64_t> committed;
  };
  std::vector<Group> groups;
  // Timestamps (ms, CreateTime or LogAppendTime, as the topic records them) of the records at
  // lagging committed offsets, read within the poll's budget: the exact age behind lag_seconds.
  std::map<TopicPartitionOffset, std::int64_t> record_timestamps_ms;
};

// Lag as kafka-consumer-groups computes it, never negative (a commit can be read just after the
// watermark moved). nullopt when nothing is committed or the watermark is unknown: a missing
// sample, not -1 (kafka_exporter's -1 poisons sums and max).
std::optional<std::int64_t> consumer_lag(std::int64_t latest, std::int64_t committed);

}  // namespace khe
