// The Kafka worker process: librdkafka runs here, not in the process that serves /metrics.
//
// The exporter starts its own binary with --internal.kafka-worker; the worker reads one request
// per poll from stdin (the deadline), gathers a ClusterView with gather_cluster_view() and writes
// it back encoded (view_codec.h). If the worker dies (librdkafka 2.0.2 can abort on a broker
// restart) or misses its deadline, that poll fails with kind "worker", the worker is killed and
// the next poll starts a fresh one: the exporter itself never goes down with it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "khe/kafka/cluster_view_source.h"

namespace khe {

// The worker's main loop, on fds 0 and 1. Returns the process exit code.
int run_kafka_worker(const KafkaOptions& options);

// Thread-compatible: used by one collector at a time.
class WorkerViewSource final : public ClusterViewSource {
 public:
  // How much longer than the poll deadline the worker may take to answer before it is killed.
  static constexpr std::chrono::milliseconds kGrace{2000};

  explicit WorkerViewSource(std::vector<std::string> argv);
  ~WorkerViewSource() override;
  WorkerViewSource(const WorkerViewSource&) = delete;
  WorkerViewSource& operator=(const WorkerViewSource&) = delete;

  Result<GatheredView> gather(std::chrono::steady_clock::time_point deadline) override;

 private:
  std::optional<Error> start();
  // Kills and reaps the worker; returns how it ended, e.g. "killed by signal 6 (Aborted)".
  std::string stop();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
};

}  // namespace khe
