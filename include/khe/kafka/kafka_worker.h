// The Kafka worker process: librdkafka runs here, not in the process that serves /metrics.
//
// The exporter starts its own binary with --internal.kafka-worker; the worker reads one request
// per poll from stdin (the deadline), gathers a ClusterView with gather_cluster_view() and writes
// it back encoded (view_codec.h). If the worker dies (librdkafka 2.0.2 can abort on a broker
// restart) or misses its deadline, that poll fails with kind "worker", the worker is killed and
// the next poll starts a fresh one: the exporter itself never goes down with it.
#pragma once

#include <string>
#include <vector>

#include "khe/kafka/cluster_view_source.h"
#include "khe/kafka/worker_process.h"

namespace khe {

// The worker's main, on fds 0 and 1 (see worker_process.h). Returns the process exit code.
int run_kafka_worker(const KafkaOptions& options);

// Thread-compatible: used by one collector at a time.
class WorkerViewSource final : public ClusterViewSource {
 public:
  explicit WorkerViewSource(std::vector<std::string> argv);

  Result<GatheredView> gather(std::chrono::steady_clock::time_point deadline) override;

 private:
  WorkerProcess worker_;
};

}  // namespace khe
