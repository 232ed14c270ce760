#include "khe/kafka/probe_ledger.h"

#include <algorithm>

namespace khe {
namespace {

// Settled messages remembered at most, whatever the loss timeout: a bound on memory if a
// misconfiguration makes the probe send far more than planned.
constexpr std::size_t kMaxRemembered = 1'000'000;

double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
  // Both times come from the same machine's realtime clock; a clock step backwards must not
  // produce a negative latency.
  return static_cast<double>(std::max<std::int64_t>(0, to_ns - from_ns)) / 1e9;
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
  auto at = std::lower_bound(bounds_->begin(), bounds_->end(), seconds) - bounds_->begin();
  ++counts_[static_cast<std::size_t>(at)];
  ++count_;
  sum_ += seconds;
}

std::uint64_t LatencyHistogram::cumulative(std::size_t i) const {
  std::uint64_t total = 0;
  for (std::size_t k = 0; k <= i && k < counts_.size(); ++k) total += counts_[k];
  return total;
}

ProbeLedger::ProbeLedger(std::vector<double> latency_buckets,
                         std::chrono::milliseconds loss_timeout)
    : bounds_(std::move(latency_buckets)),
      loss_timeout_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(loss_timeout).count()),
      commit_(&bounds_) {}

ProbeCounts& ProbeLedger::counts_of(const ProbeRoute& route) { return counts_[route]; }

LatencyHistogram& ProbeLedger::produce_of(const ProbeRoute& route) {
  return produce_.try_emplace(route, &bounds_).first->second;
}

LatencyHistogram& ProbeLedger::e2e_of(std::int32_t partition) {
  return e2e_.try_emplace(partition, &bounds_).first->second;
}

void ProbeLedger::touch(ProbeRoute route) {
  counts_of(route);
  produce_of(route);
  e2e_of(route.partition);
}

void ProbeLedger::apply(const ProbeReport& report) {
  for (const auto& send : report.sends) on_send(send);
  // Acknowledgements, then receipts, then the producer's errors: within one report the order
  // between threads is unknown, and this order gives each message the same verdict whichever
  // report carried which of its events.
  for (const auto& ack : report.acks) {
    if (ack.error.empty()) on_ack(ack);
  }
  for (const auto& receipt : report.receipts) on_receipt(receipt, report.started_ns);
  for (const auto& ack : report.acks) {
    if (!ack.error.empty()) on_ack(ack);
  }
  for (const auto& commit : report.commits) {
    if (commit.error.empty()) {
      commit_.observe(static_cast<double>(std::max<std::int64_t>(0, commit.latency_ns)) / 1e9);
    } else {
      ++commits_failed_;
    }
  }
  expire(report.drained_ns, report.started_ns);
}

void ProbeLedger::on_send(const ProbeSend& send) {
  ProbeRoute route{send.partition, send.broker};
  if (!outstanding_.emplace(send.id, Outstanding{route, send.sent_ns, Ack::kPending, false})
           .second) {
    return;  // reported twice: counted once
  }
  touch(route);
  ++counts_of(route).produced;
}

void ProbeLedger::on_ack(const ProbeAck& ack) {
  auto it = outstanding_.find(ack.id);
  if (it == outstanding_.end()) return;  // not ours, or already settled
  auto& m = it->second;
  if (!ack.error.empty()) {
    // A message that arrived anyway was not lost to anyone: the producer's error was about its
    // acknowledgement (a timeout racing the broker's answer), so it counts as received.
    if (m.received) {
      settle(ack.id, m.route, Outcome::kReceived, ack.acked_ns);
    } else {
      ++counts_of(m.route).failed;
      settle(ack.id, m.route, Outcome::kFailed, ack.acked_ns);
    }
    return;
  }
  produce_of(m.route).observe(seconds_between(m.sent_ns, ack.acked_ns));
  m.ack = Ack::kOk;
  if (m.received) settle(ack.id, m.route, Outcome::kReceived, ack.acked_ns);
}

void ProbeLedger::on_receipt(const ProbeReceipt& receipt, std::int64_t worker_started_ns) {
  auto it = outstanding_.find(receipt.id);
  if (it != outstanding_.end()) {
    auto& m = it->second;
    if (m.received) {
      ++counts_of(m.route).duplicated;
      return;
    }
    auto deadline = std::max(m.sent_ns, worker_started_ns) + loss_timeout_ns_;
    if (receipt.received_ns > deadline) {
      // Arrived, but after the deadline expire() would have applied: lost for anyone waiting
      // on it, and late. Unacknowledged, it is the producer's failure.
      if (m.ack == Ack::kOk) {
        ++counts_of(m.route).lost;
        ++counts_of(m.route).late;
        settle(receipt.id, m.route, Outcome::kLate, receipt.received_ns);
      } else {
        ++counts_of(m.route).failed;
        settle(receipt.id, m.route, Outcome::kFailed, receipt.received_ns);
      }
      return;
    }
    m.received = true;
    ++counts_of(m.route).received;
    e2e_of(m.route.partition).observe(seconds_between(m.sent_ns, receipt.received_ns));
    // Received before its acknowledgement was reported: kept until the ack (for the produce
    // latency) or the deadline.
    if (m.ack == Ack::kOk) settle(receipt.id, m.route, Outcome::kReceived, receipt.received_ns);
    return;
  }
  auto s = settled_.find(receipt.id);
  if (s == settled_.end()) return;  // another run's message
  switch (s->second.outcome) {
    case Outcome::kReceived:
    case Outcome::kLate:
      ++counts_of(s->second.route).duplicated;
      break;
    case Outcome::kLost:
      ++counts_of(s->second.route).late;
      s->second.outcome = Outcome::kLate;
      break;
    case Outcome::kFailed:
      break;  // the producer said it failed; whether it arrived anyway changes nothing
  }
}

void ProbeLedger::settle(ProbeMessageId id, ProbeRoute route, Outcome outcome,
                         std::int64_t now_ns) {
  outstanding_.erase(id);
  if (settled_.emplace(id, Settled{route, outcome}).second) settled_order_.emplace_back(now_ns, id);
}

void ProbeLedger::expire(std::int64_t now_ns, std::int64_t worker_started_ns) {
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    auto& m = it->second;
    auto deadline = std::max(m.sent_ns, worker_started_ns) + loss_timeout_ns_;
    if (now_ns <= deadline) {
      ++it;
      continue;
    }
    Outcome outcome = Outcome::kReceived;
    if (!m.received && m.ack == Ack::kOk) {
      outcome = Outcome::kLost;
      ++counts_of(m.route).lost;
    } else if (!m.received) {
      // Never acknowledged and never seen: its worker died before the producer's verdict.
      outcome = Outcome::kFailed;
      ++counts_of(m.route).failed;
    }
    auto id = it->first;
    auto route = m.route;
    ++it;  // settle() erases the entry
    settle(id, route, outcome, now_ns);
  }
  while (!settled_order_.empty() && (settled_order_.front().first + loss_timeout_ns_ < now_ns ||
                                     settled_order_.size() > kMaxRemembered)) {
    settled_.erase(settled_order_.front().second);
    settled_order_.pop_front();
  }
}

}  // namespace khe
