#include "khe/app/collector_runner.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "khe/metrics/self_metrics.h"
#include "khe/metrics/snapshot_store.h"

namespace khe {

using Clock = std::chrono::steady_clock;

CollectorRunner::CollectorRunner(boost::asio::io_context& io, Collector& collector,
                                 SnapshotStore& store, SelfMetrics& self_metrics)
    : collector_(collector),
      store_(store),
      self_metrics_(self_metrics),
      strand_(boost::asio::make_strand(io)),
      timer_(strand_) {
  self_metrics_.register_collector(collector_.name());
}

void CollectorRunner::start() {
  boost::asio::post(strand_, [this] { schedule(Clock::now()); });
}

void CollectorRunner::stop() {
  stopped_ = true;
  boost::asio::post(strand_, [this] { timer_.cancel(); });
}

bool CollectorRunner::run_once() { return collect_and_publish(); }

void CollectorRunner::schedule(Clock::time_point when) {
  if (stopped_) return;
  timer_.expires_at(when);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    auto started = Clock::now();
    collect_and_publish();
    // Fixed rate: a slow poll shortens the next wait rather than shifting every later poll.
    auto next = started + collector_.interval();
    schedule(std::max(next, Clock::now()));
  });
}

bool CollectorRunner::collect_and_publish() {
  const auto& name = collector_.name();
  auto started = Clock::now();
  auto result = collector_.collect(started + collector_.timeout());
  auto finished = Clock::now();

  CollectionOutcome outcome;
  outcome.collector = name;
  outcome.ok = result.ok();
  outcome.duration = finished - started;
  outcome.finished_at = std::chrono::system_clock::now();

  if (result.ok()) {
    Snapshot snapshot;
    snapshot.source = name;
    snapshot.families = std::move(result.value().families);
    snapshot.errors = result.value().errors;
    snapshot.collected_at = outcome.finished_at;
    snapshot.duration = outcome.duration;
    for (const auto& f : snapshot.families) outcome.series += f.samples.size();
    store_.publish(snapshot);
    outcome.errors = std::move(snapshot.errors);
    last_success_ = finished;
    ever_succeeded_ = true;
    succeeded_ = true;
    if (outcome.errors.empty()) {
      spdlog::debug("collector={} collection done series={} seconds={:.3f}", name, outcome.series,
                    outcome.duration.count());
    } else {
      std::string first;
      for (std::size_t i = 0; i < outcome.errors.size() && i < 3; ++i) {
        first += (i ? "; " : "") + outcome.errors[i].to_string();
      }
      spdlog::warn("collector={} collection partial errors={} series={} seconds={:.3f} first=\"{}\"",
                   name, outcome.errors.size(), outcome.series, outcome.duration.count(), first);
    }
  } else {
    outcome.errors.push_back(result.error());
    spdlog::warn("collector={} collection failed seconds={:.3f} error=\"{}\"", name,
                 outcome.duration.count(), result.error().to_string());
    bool too_old = !ever_succeeded_ ||
                   finished - last_success_ > collector_.interval() * kStaleLimit;
    if (too_old && store_.has(name)) {
      spdlog::warn("collector={} dropping its series: no successful collection for {} intervals",
                   name, kStaleLimit);
      store_.remove(name);
      self_metrics_.mark_stale_dropped(name);
    }
  }
  self_metrics_.record(outcome);
  return outcome.ok;
}

}  // namespace khe
