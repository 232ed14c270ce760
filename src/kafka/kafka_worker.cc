#include "khe/kafka/kafka_worker.h"

#include <spdlog/spdlog.h>

#include "khe/kafka/view_codec.h"

namespace khe {

int run_kafka_worker(const KafkaOptions& options) {
  if (!tie_to_parent()) return 1;
  auto source = make_rdkafka_offsets_source(options);
  if (!source) spdlog::error("kafka worker: {}", source.error().to_string());
  serve_requests([&](std::chrono::steady_clock::time_point deadline) {
    if (!source) return encode_error(source.error());
    auto gathered = gather_cluster_view(*source.value(), options, deadline);
    return gathered ? encode_view(gathered.value()) : encode_error(gathered.error());
  });
  return 0;
}

WorkerViewSource::WorkerViewSource(std::vector<std::string> argv)
    : worker_("kafka worker", std::move(argv)) {}

Result<GatheredView> WorkerViewSource::gather(std::chrono::steady_clock::time_point deadline) {
  auto answer = worker_.call(deadline);
  if (!answer) return answer.error();
  return decode_view(answer.value());
}

}  // namespace khe
