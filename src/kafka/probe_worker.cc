#include "khe/kafka/probe_worker.h"

#include <spdlog/spdlog.h>

#include "khe/kafka/probe_agent.h"
#include "khe/kafka/probe_codec.h"
#include "khe/kafka/wire.h"

namespace khe {

int run_probe_worker(const KafkaOptions& kafka, const ProbeOptions& probe) {
  if (!tie_to_parent()) return 1;
  auto agent = start_rdkafka_probe_agent(kafka, probe);
  if (!agent) spdlog::error("probe worker: {}", agent.error().to_string());
  serve_requests([&](std::chrono::steady_clock::time_point) {
    if (!agent) return encode_error(agent.error());
    return encode_probe_report(agent.value()->drain());
  });
  return 0;
}

WorkerProbeSource::WorkerProbeSource(std::vector<std::string> argv)
    : worker_("probe worker", std::move(argv)) {}

Result<ProbeReport> WorkerProbeSource::report(std::chrono::steady_clock::time_point deadline) {
  auto answer = worker_.call(deadline);
  if (!answer) return answer.error();
  return decode_probe_report(answer.value());
}

}  // namespace khe
