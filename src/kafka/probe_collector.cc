#include "khe/kafka/probe_collector.h"

#include <spdlog/spdlog.h>

#include "khe/kafka/probe_families.h"

namespace khe {

ProbeCollector::ProbeCollector(ProbeOptions options, std::unique_ptr<ProbeSource> source)
    : options_(std::move(options)),
      source_(std::move(source)),
      ledger_(options_.latency_buckets, options_.loss_timeout) {}

Result<Collection> ProbeCollector::collect(std::chrono::steady_clock::time_point deadline) {
  auto report = source_->report(deadline);
  if (!report) return report.error();
  const auto& r = report.value();
  if (r.run != last_run_) {
    if (last_run_ != 0)
      spdlog::info("probe worker restarted; run {:016x} follows {:016x}", r.run, last_run_);
    last_run_ = r.run;
  }
  ledger_.apply(r);
  for (const auto& p : r.topic.partitions) {
    if (p.leader >= 0) ledger_.touch({p.partition, p.leader});
  }
  if (r.topic.problem != last_problem_) {
    if (!r.topic.problem.empty()) {
      spdlog::warn("probe: {}", r.topic.problem);
    } else if (!last_problem_.empty()) {
      spdlog::info("probe: topic '{}' exercises every broker again", options_.topic);
    }
    last_problem_ = r.topic.problem;
  }
  Collection out;
  out.errors = r.errors;
  if (r.dropped_events > 0) {
    out.errors.push_back({ErrorKind::kInternal, "probe worker",
                          std::to_string(r.dropped_events) +
                              " events dropped: the exporter did not collect them in time"});
  }
  out.families = build_probe_families(ledger_, r.topic);
  return out;
}

}  // namespace khe
