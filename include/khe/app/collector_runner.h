// CollectorRunner: drives one Collector on a Boost.Asio strand and timer, so a collector never
// runs concurrently with itself, and publishes each result to the SnapshotStore.
//
// A failed collection keeps the last good snapshot (marked by `up 0` and an old last-success
// timestamp) for up to kStaleLimit poll intervals; after that its series are dropped rather
// than served as if current. Thread-safe: start/stop from the main thread, succeeded() from any.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>

#include "khe/core/collector.h"

namespace khe {

class SnapshotStore;
class SelfMetrics;

class CollectorRunner {
 public:
  static constexpr int kStaleLimit = 3;

  CollectorRunner(boost::asio::io_context& io, Collector& collector, SnapshotStore& store,
                  SelfMetrics& self_metrics);
  CollectorRunner(const CollectorRunner&) = delete;
  CollectorRunner& operator=(const CollectorRunner&) = delete;

  void start();  // first collection right away, then every interval
  void stop();   // no new collection starts; one already running finishes by its deadline
  // One collection on the calling thread (for --once). Returns whether it succeeded.
  bool run_once();
  bool succeeded() const { return succeeded_.load(); }

 private:
  void schedule(std::chrono::steady_clock::time_point when);
  bool collect_and_publish();

  Collector& collector_;
  SnapshotStore& store_;
  SelfMetrics& self_metrics_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;  // only touched on strand_
  std::atomic<bool> stopped_{false};
  std::atomic<bool> succeeded_{false};
  std::chrono::steady_clock::time_point last_success_{};  // only touched by the collecting thread
  bool ever_succeeded_ = false;                             // only touched by the collecting thread
};

}  // namespace khe
