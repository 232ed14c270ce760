// ProbeCollector: the end-to-end probe's collector. On its own timer it asks the probe worker
// (probe_worker.h) for the events since the last report, accounts for them in its ProbeLedger
// and publishes kafka_probe_* families. The probe itself (producing, consuming, committing)
// runs continuously in the worker, independent of this timer; a collection only drains it.
//
// A collection fails when the worker does not answer (dead, hung, garbage): the runner then
// keeps the last snapshot as it does for every collector, and the ledger, which lives here,
// carries every count over to the next worker. Not thread-safe; run by one CollectorRunner.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "khe/core/collector.h"
#include "khe/kafka/probe_ledger.h"
#include "khe/kafka/probe_options.h"
#include "khe/kafka/probe_report.h"

namespace khe {

// Where reports come from: the worker process, or a fake in tests.
class ProbeSource {
 public:
  virtual ~ProbeSource() = default;
  virtual Result<ProbeReport> report(std::chrono::steady_clock::time_point deadline) = 0;
};

class ProbeCollector final : public Collector {
 public:
  ProbeCollector(ProbeOptions options, std::unique_ptr<ProbeSource> source);

  const std::string& name() const override { return name_; }
  // Publishing more often than once a second would only re-render the same histograms.
  std::chrono::milliseconds interval() const override {
    return std::max(options_.interval, std::chrono::milliseconds(1000));
  }
  // A report is a drain of memory in the worker: it takes milliseconds, unless the worker hangs.
  std::chrono::milliseconds timeout() const override { return interval() / 2; }
  Result<Collection> collect(std::chrono::steady_clock::time_point deadline) override;

  const ProbeLedger& ledger() const { return ledger_; }

 private:
  std::string name_ = "probe";
  ProbeOptions options_;
  std::unique_ptr<ProbeSource> source_;
  ProbeLedger ledger_;
  std::string last_problem_;  // logged once per change
  std::uint64_t last_run_ = 0;
};

}  // namespace khe
