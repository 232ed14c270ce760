// What the probe worker reports to the exporter at each collection: the events since the last
// report (messages sent, acknowledged or failed, received; offset commits) and the probe
// topic's current state. Plain data, no librdkafka: the worker's agent fills it, the codec
// carries it over the pipe (probe_codec.h), the ProbeLedger accounts for it.
//
// Times are unix nanoseconds of the machine both processes run on (CLOCK_REALTIME): a message
// carries its send time in its value, so a message sent by one worker and received by the next
// one (after a restart) still has a true end-to-end latency.
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "khe/core/error.h"
#include "khe/kafka/lag_model.h"

namespace khe {

// A probe message: `run` is chosen at random by each worker process, `seq` counts its messages.
struct ProbeMessageId {
  std::uint64_t run = 0;
  std::uint64_t seq = 0;
  bool operator<(const ProbeMessageId& o) const {
    return std::tie(run, seq) < std::tie(o.run, o.seq);
  }
  bool operator==(const ProbeMessageId& o) const = default;
};

// The broker a message was sent to: the partition's leader as the worker's metadata said when
// it sent. kUnknownBroker when the partition had no known leader.
inline constexpr std::int32_t kUnknownBroker = -1;

struct ProbeSend {
  ProbeMessageId id;
  std::int32_t partition = 0;
  std::int32_t broker = kUnknownBroker;
  std::int64_t sent_ns = 0;
};

// The producer's verdict on one message. `error` is empty when the message was acknowledged,
// else librdkafka's error name (e.g. "msg_timed_out").
struct ProbeAck {
  ProbeMessageId id;
  std::int32_t partition = 0;
  std::int64_t sent_ns = 0;
  std::int64_t acked_ns = 0;
  std::string error;
};

struct ProbeReceipt {
  ProbeMessageId id;
  std::int32_t partition = 0;
  std::int64_t sent_ns = 0;  // from the message itself
  std::int64_t received_ns = 0;
};

struct ProbeCommit {
  std::int64_t latency_ns = 0;
  std::string error;  // empty when the broker accepted the commit
};

struct ProbeTopicState {
  bool known = false;                 // the worker has read the cluster's metadata at least once
  bool exists = false;                // the probe topic exists
  std::vector<std::int32_t> brokers;  // every broker in the cluster, ascending
  std::vector<PartitionInfo> partitions;  // of the probe topic, by partition
  // Why the topic does not exercise every broker (or does not exist and may not be created),
  // in words for the log; empty when it does.
  std::string problem;
  // Brokers that are the preferred leader (first replica) of no partition of the probe topic.
  std::vector<std::int32_t> uncovered_brokers;
};

struct ProbeReport {
  std::uint64_t run = 0;        // the worker's run id
  std::int64_t started_ns = 0;  // when this worker started probing
  std::int64_t drained_ns = 0;  // when this report was taken: every event up to here is in it
  ProbeTopicState topic;
  std::vector<ProbeSend> sends;
  std::vector<ProbeAck> acks;
  std::vector<ProbeReceipt> receipts;
  std::vector<ProbeCommit> commits;
  std::uint64_t dropped_events = 0;  // events the worker could not keep (its buffer was full)
  std::vector<Error> errors;         // partial failures since the last report
};

}  // namespace khe
