// OffsetsSource: the seam between the lag collector and Kafka. The one implementation on
// librdkafka lives in rdkafka_offsets_source.cc (the only file that includes rdkafka.h); tests
// substitute a fake. Every call is blocking, bounded by its timeout, and reports failures as
// values. Called from one collector thread at a time (not required to be thread-safe).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "khe/core/error.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/lag_model.h"

namespace khe {

class OffsetsSource {
 public:
  virtual ~OffsetsSource() = default;

  virtual Result<ClusterMetadata> metadata(std::chrono::milliseconds timeout) = 0;

  // Earliest and latest offsets of `partitions`: one batched request per leader broker (from
  // `metadata`), leaders in parallel, so a dead leader fails only its own partitions.
  // Partitions without a leader are reported as failed without asking anyone.
  virtual WatermarkResult watermarks(const ClusterMetadata& metadata,
                                     const std::vector<TopicPartition>& partitions,
                                     std::chrono::milliseconds timeout) = 0;

  // Every consumer group, in every state. Partial listings (a broker did not answer) come back
  // with `errors` filled.
  struct GroupList {
    std::vector<GroupListing> groups;
    std::vector<Error> errors;
  };
  virtual Result<GroupList> list_groups(std::chrono::milliseconds timeout) = 0;

  struct GroupDetails {
    std::vector<GroupDescription> descriptions;
    std::vector<GroupOffsets> offsets;
    std::vector<Error> errors;  // per group; the other groups are still reported
  };
  // Describes the groups and reads their committed offsets, bounded in concurrency.
  virtual GroupDetails group_details(const std::vector<std::string>& groups,
                                     std::chrono::milliseconds timeout) = 0;

  // Timestamps of the records at these offsets (one small fetch per partition, partitions in
  // parallel), as many as the timeout allows; offsets whose record is gone are left out.
  struct RecordTimestamps {
    std::map<TopicPartitionOffset, std::int64_t> timestamps_ms;
    std::vector<Error> errors;
  };
  virtual RecordTimestamps record_timestamps(const std::vector<TopicPartitionOffset>& wanted,
                                             std::chrono::milliseconds timeout) {
    (void)wanted;
    (void)timeout;
    return {};
  }

  virtual std::string client_version() const = 0;
};

// Creates the librdkafka-backed source. Fails on properties librdkafka rejects.
Result<std::unique_ptr<OffsetsSource>> make_rdkafka_offsets_source(const KafkaOptions& options);

// Checks every librdkafka property without creating a client (which would start connecting).
std::optional<Error> validate_rdkafka_properties(const KafkaOptions& options);

// librdkafka's version string, for build info.
std::string rdkafka_version();

}  // namespace khe
