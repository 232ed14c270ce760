// The probe worker process: the ProbeAgent (and librdkafka) runs here, not in the process that
// serves /metrics, for the same reason as the Kafka worker (worker_process.h): librdkafka 2.0.2
// can abort its process on a broker failure, and the probe exists to watch broker failures.
//
// The exporter starts its own binary with --internal.probe-worker; the worker starts probing at
// once and answers each request with the encoded ProbeReport of what happened since the last
// one (probe_codec.h). If it dies or hangs, that collection fails with kind "worker" and the
// next one starts a fresh worker, which resumes the probe group's committed offsets.
#pragma once

#include <string>
#include <vector>

#include "khe/kafka/kafka_options.h"
#include "khe/kafka/probe_collector.h"
#include "khe/kafka/probe_options.h"
#include "khe/kafka/worker_process.h"

namespace khe {

// The worker's main, on fds 0 and 1. Returns the process exit code.
int run_probe_worker(const KafkaOptions& kafka, const ProbeOptions& probe);

// Thread-compatible: used by one collector at a time.
class WorkerProbeSource final : public ProbeSource {
 public:
  explicit WorkerProbeSource(std::vector<std::string> argv);
  Result<ProbeReport> report(std::chrono::steady_clock::time_point deadline) override;

 private:
  WorkerProcess worker_;
};

}  // namespace khe
