// ClusterViewSource: where the lag collector gets one poll's ClusterView from.
//
// gather_cluster_view() holds the polling logic over an OffsetsSource (order, filters,
// deadlines). It runs either in-process (InProcessViewSource: tests, --once) or inside the
// Kafka worker process (WorkerViewSource, see kafka_worker.h), which keeps librdkafka out of the
// serving process: librdkafka 2.0.2 aborts the process on some broker failures (an assertion in
// its admin coordinator path, librdkafka issues #3663/#4605), and a monitoring sidecar must
// keep serving /metrics through exactly those failures.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "khe/core/error.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/lag_model.h"
#include "khe/kafka/offsets_source.h"

namespace khe {

struct GatheredView {
  ClusterView view;
  std::vector<Error> errors;  // partial failures
};

// One poll: metadata, then groups (listing, descriptions, committed offsets), then watermarks,
// filters applied before fetching. Fails only when the metadata cannot be read.
Result<GatheredView> gather_cluster_view(OffsetsSource& source, const KafkaOptions& options,
                                         std::chrono::steady_clock::time_point deadline);

class ClusterViewSource {
 public:
  virtual ~ClusterViewSource() = default;
  virtual Result<GatheredView> gather(std::chrono::steady_clock::time_point deadline) = 0;
};

class InProcessViewSource final : public ClusterViewSource {
 public:
  InProcessViewSource(KafkaOptions options, std::unique_ptr<OffsetsSource> source)
      : options_(std::move(options)), source_(std::move(source)) {}
  Result<GatheredView> gather(std::chrono::steady_clock::time_point deadline) override {
    return gather_cluster_view(*source_, options_, deadline);
  }

 private:
  KafkaOptions options_;
  std::unique_ptr<OffsetsSource> source_;
};

}  // namespace khe
