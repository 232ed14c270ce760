// ProbeAgent: the end-to-end probe itself, inside the probe worker process. It keeps the probe
// topic in shape (probe_topic_plan.h), produces one message per partition per interval, reads
// them back with its own consumer group and commits, and records every event with its time.
// drain() hands over what happened since the last drain.
//
// The one implementation is on librdkafka (rdkafka_probe_agent.cc, with rdkafka_common.h the
// only probe code that includes rdkafka.h). It runs its own threads: production (and delivery
// reports), consumption (and commit results), metadata (and topic management), so a slow
// broker delays only the work that needs it and never a drain. drain() is thread-safe.
#pragma once

#include <memory>

#include "khe/core/error.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/probe_options.h"
#include "khe/kafka/probe_report.h"

namespace khe {

class ProbeAgent {
 public:
  virtual ~ProbeAgent() = default;
  virtual ProbeReport drain() = 0;
};

// Starts probing at once. Fails only on a configuration librdkafka refuses.
Result<std::unique_ptr<ProbeAgent>> start_rdkafka_probe_agent(const KafkaOptions& kafka,
                                                              const ProbeOptions& probe);

}  // namespace khe
