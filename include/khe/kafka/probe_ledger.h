// ProbeLedger: the exporter's account of every probe message, from the worker's reports. It
// lives in the exporter, not in the worker, so the account survives a worker that dies (the
// next worker resumes the probe group's committed offsets and receives what the last one sent).
//
// Each message produced ends in exactly one of:
//   failed   the producer reported an error, or never reported at all (its worker died) and the
//            message did not arrive within the loss timeout;
//   received the probe's consumer got it within probe.loss_timeout of its send time (its
//            end-to-end latency is observed);
//   lost     it was acknowledged but not received within the loss timeout.
// A lost message that arrives after all counts as late (it stays lost: it missed the timeout);
// a second receipt of a message counts as a duplicate (producer retries without idempotence, or
// a new worker re-reading what the last one read but had not committed). Messages of other runs
// (another exporter, or this one before a restart) are ignored.
//
// The loss deadline of a message is its send time plus the loss timeout, but never earlier than
// the current worker's start plus the loss timeout: a new worker needs time to catch up with
// what its predecessor sent, and a dead worker's silence is not Kafka losing messages. Messages
// are only declared lost or failed when a report arrives (report.drained_ns is "now"), so a
// worker that cannot answer never makes the ledger count losses.
//
// Pure logic on plain values; owned by one ProbeCollector, not thread-safe. Memory is bounded:
// outstanding messages (at most interval x partitions x loss timeout) and settled ones, which
// are remembered for one more loss timeout to recognise duplicates and late arrivals.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <tuple>
#include <vector>

#include "khe/kafka/probe_report.h"

namespace khe {

// Cumulative histogram data in Prometheus' form: counts per bucket (not yet cumulative), the
// +Inf bucket last.
class LatencyHistogram {
 public:
  explicit LatencyHistogram(const std::vector<double>* bounds) : bounds_(bounds) {
    counts_.assign(bounds->size() + 1, 0);
  }
  void observe(double seconds);
  const std::vector<double>& bounds() const { return *bounds_; }
  // Observations at or below bounds()[i] (cumulative, as the text format wants it); i ==
  // bounds().size() is +Inf.
  std::uint64_t cumulative(std::size_t i) const;
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  const std::vector<double>* bounds_;  // owned by the ledger, outlives every histogram
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// Messages by partition and by the broker that led it when they were sent.
struct ProbeRoute {
  std::int32_t partition = 0;
  std::int32_t broker = kUnknownBroker;
  bool operator<(const ProbeRoute& o) const {
    return std::tie(partition, broker) < std::tie(o.partition, o.broker);
  }
};

struct ProbeCounts {
  std::uint64_t produced = 0;
  std::uint64_t failed = 0;
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t late = 0;
  std::uint64_t duplicated = 0;
};

class ProbeLedger {
 public:
  ProbeLedger(std::vector<double> latency_buckets, std::chrono::milliseconds loss_timeout);
  ProbeLedger(const ProbeLedger&) = delete;
  ProbeLedger& operator=(const ProbeLedger&) = delete;

  // Accounts for one report, then settles what passed its deadline by report.drained_ns.
  void apply(const ProbeReport& report);
  // Makes sure a route has its (zero) counters and histogram, so rates exist before the first
  // failure: called for each partition's current leader.
  void touch(ProbeRoute route);

  const std::map<ProbeRoute, ProbeCounts>& counts() const { return counts_; }
  const std::map<ProbeRoute, LatencyHistogram>& produce_latency() const { return produce_; }
  const std::map<std::int32_t, LatencyHistogram>& end_to_end_latency() const { return e2e_; }
  const LatencyHistogram& commit_latency() const { return commit_; }
  std::uint64_t commits_failed() const { return commits_failed_; }
  std::size_t outstanding() const { return outstanding_.size(); }
  std::size_t remembered() const { return settled_.size(); }

 private:
  enum class Ack { kPending, kOk };
  struct Outstanding {
    ProbeRoute route;
    std::int64_t sent_ns = 0;
    Ack ack = Ack::kPending;
    bool received = false;
  };
  enum class Outcome { kReceived, kLost, kLate, kFailed };
  struct Settled {
    ProbeRoute route;
    Outcome outcome;
  };

  void on_send(const ProbeSend& send);
  void on_ack(const ProbeAck& ack);
  void on_receipt(const ProbeReceipt& receipt, std::int64_t worker_started_ns);
  // By value: callers pass parts of the entry it erases.
  void settle(ProbeMessageId id, ProbeRoute route, Outcome outcome, std::int64_t now_ns);
  void expire(std::int64_t now_ns, std::int64_t worker_started_ns);
  ProbeCounts& counts_of(const ProbeRoute& route);
  LatencyHistogram& produce_of(const ProbeRoute& route);
  LatencyHistogram& e2e_of(std::int32_t partition);

  std::vector<double> bounds_;
  std::int64_t loss_timeout_ns_;
  std::map<ProbeMessageId, Outstanding> outstanding_;
  std::map<ProbeMessageId, Settled> settled_;
  std::deque<std::pair<std::int64_t, ProbeMessageId>> settled_order_;  // (settled at, id)
  std::map<ProbeRoute, ProbeCounts> counts_;
  std::map<ProbeRoute, LatencyHistogram> produce_;
  std::map<std::int32_t, LatencyHistogram> e2e_;
  LatencyHistogram commit_;
  std::uint64_t commits_failed_ = 0;
};

}  // namespace khe
