// What the two librdkafka seams share: rdkafka_offsets_source.cc (the lag collector's
// OffsetsSource) and rdkafka_probe_agent.cc (the end-to-end probe). This private header and
// those two files are the only code that includes rdkafka.h; all of it runs in worker processes
// (worker_process.h), apart from --once and property validation at startup.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "khe/core/error.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/lag_model.h"

namespace khe::rdkafka {

// A librdkafka timeout argument: at least 1 ms (0 means "do not wait"), at most an hour.
int to_ms(std::chrono::milliseconds d);

// "_TIMED_OUT" -> "timed_out", "LEADER_NOT_AVAILABLE" -> "leader_not_available": bounded,
// stable label values.
std::string reason_name(rd_kafka_resp_err_t err);

// kafka.servers as librdkafka's bootstrap.servers, unless the properties set it themselves.
std::string bootstrap_list(const KafkaOptions& options);

// A client configuration: bootstrap.servers, then `defaults`, then the user's properties (TLS,
// SASL, anything else), which override both; logging goes to spdlog. The caller owns the
// result. A rejected property is a kConfig Error that never shows a secret's value.
Result<rd_kafka_conf_t*> make_conf(
    const KafkaOptions& options, const std::vector<std::pair<std::string, std::string>>& defaults);

// One topic of a Metadata response, its partitions sorted by id; `internal` for names that start
// with "__".
TopicInfo topic_info(const rd_kafka_metadata_topic_t& topic);

struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

}  // namespace khe::rdkafka
