// The probe's accounting: what counts as received, lost, late, failed and duplicated, and which
// latencies are observed, across reports and worker restarts.
#include "khe/kafka/probe_ledger.h"

#include <gtest/gtest.h>

namespace khe {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000'000 * kMs;  // a unix time in ns
const std::vector<double> kBuckets{0.005, 0.01, 0.05, 1};

struct Worker {
  std::uint64_t run = 7;
  std::int64_t started_ns = kT0;
  ProbeReport report;

  ProbeMessageId send(std::uint64_t seq, std::int32_t partition, std::int32_t broker,
                      std::int64_t at_ms) {
    ProbeMessageId id{run, seq};
    report.sends.push_back({id, partition, broker, kT0 + at_ms * kMs});
    return id;
  }
  void ack(ProbeMessageId id, std::int32_t partition, std::int64_t sent_ms, std::int64_t at_ms,
           std::string error = "") {
    report.acks.push_back(
        {id, partition, kT0 + sent_ms * kMs, kT0 + at_ms * kMs, std::move(error)});
  }
  void receive(ProbeMessageId id, std::int32_t partition, std::int64_t sent_ms,
               std::int64_t at_ms) {
    report.receipts.push_back({id, partition, kT0 + sent_ms * kMs, kT0 + at_ms * kMs});
  }
  // Hands the events so far to the ledger as one report drained at `at_ms`.
  void report_to(ProbeLedger& ledger, std::int64_t at_ms) {
    report.run = run;
    report.started_ns = started_ns;
    report.drained_ns = kT0 + at_ms * kMs;
    ledger.apply(report);
    report = ProbeReport{};
  }
};

TEST(LatencyHistogram, CountsCumulativelyWithInfLast) {
  LatencyHistogram h(&kBuckets);
  for (double s : {0.001, 0.005, 0.007, 0.2, 3.0}) h.observe(s);
  EXPECT_EQ(h.cumulative(0), 2u);  // le 0.005 includes the bound itself
  EXPECT_EQ(h.cumulative(1), 3u);
  EXPECT_EQ(h.cumulative(2), 3u);
  EXPECT_EQ(h.cumulative(3), 4u);
  EXPECT_EQ(h.cumulative(4), 5u);  // +Inf
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 3.213);
}

TEST(ProbeLedger, AMessageAcknowledgedAndReceivedIsReceivedWithBothLatencies) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(30));
  Worker w;
  auto id = w.send(1, 0, 2, 1000);
  w.ack(id, 0, 1000, 1004);
  w.receive(id, 0, 1000, 1012);
  w.report_to(ledger, 1100);
  const auto& c = ledger.counts().at({0, 2});
  EXPECT_EQ(c.produced, 1u);
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.failed + c.lost + c.late + c.duplicated, 0u);
  const auto& produce = ledger.produce_latency().at({0, 2});
  EXPECT_EQ(produce.count(), 1u);
  EXPECT_NEAR(produce.sum(), 0.004, 1e-9);
  const auto& e2e = ledger.end_to_end_latency().at(0);
  EXPECT_EQ(e2e.count(), 1u);
  EXPECT_NEAR(e2e.sum(), 0.012, 1e-9);
  EXPECT_EQ(ledger.outstanding(), 0u);
}

TEST(ProbeLedger, AReceiptBeforeItsAcknowledgementIsKeptUntilTheAckForItsLatency) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(30));
  Worker w;
  auto id = w.send(1, 0, 1, 0);
  w.receive(id, 0, 0, 3);
  w.report_to(ledger, 4);
  EXPECT_EQ(ledger.counts().at({0, 1}).received, 1u);
  EXPECT_EQ(ledger.outstanding(), 1u);
  w.ack(id, 0, 0, 5);
  w.report_to(ledger, 10);
  EXPECT_EQ(ledger.produce_latency().at({0, 1}).count(), 1u);
  EXPECT_EQ(ledger.outstanding(), 0u);
}

TEST(ProbeLedger, AProducerErrorIsAFailureUnlessTheMessageArrivedAnyway) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(30));
  Worker w;
  auto failed = w.send(1, 0, 1, 0);
  auto arrived = w.send(2, 1, 2, 0);
  w.ack(failed, 0, 0, 5000, "msg_timed_out");
  w.receive(arrived, 1, 0, 4000);
  w.ack(arrived, 1, 0, 5000, "msg_timed_out");
  w.report_to(ledger, 5001);
  EXPECT_EQ(ledger.counts().at({0, 1}).failed, 1u);
  EXPECT_EQ(ledger.counts().at({1, 2}).failed, 0u);
  EXPECT_EQ(ledger.counts().at({1, 2}).received, 1u);
  EXPECT_EQ(ledger.produce_latency().at({0, 1}).count(), 0u);  // no acknowledgement to time
  EXPECT_EQ(ledger.outstanding(), 0u);
}

TEST(ProbeLedger, AnAcknowledgedMessageNotReceivedByItsDeadlineIsLost) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  auto id = w.send(1, 3, 0, 0);
  w.ack(id, 3, 0, 2);
  w.report_to(ledger, 10'000);  // exactly the deadline: not yet
  EXPECT_EQ(ledger.counts().at({3, 0}).lost, 0u);
  w.report_to(ledger, 10'001);
  EXPECT_EQ(ledger.counts().at({3, 0}).lost, 1u);
  EXPECT_EQ(ledger.counts().at({3, 0}).received, 0u);
  EXPECT_EQ(ledger.end_to_end_latency().at(3).count(), 0u);
  EXPECT_EQ(ledger.outstanding(), 0u);
  // Arriving after all, it is late; still lost, never received, seen once.
  w.receive(id, 3, 0, 12'000);
  w.receive(id, 3, 0, 12'001);
  w.report_to(ledger, 12'100);
  const auto& c = ledger.counts().at({3, 0});
  EXPECT_EQ(c.lost, 1u);
  EXPECT_EQ(c.late, 1u);
  EXPECT_EQ(c.received, 0u);
  EXPECT_EQ(c.duplicated, 1u);
}

TEST(ProbeLedger, AReceiptPastTheDeadlineInTheSameReportIsLostAndLate) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  auto id = w.send(1, 0, 0, 0);
  w.ack(id, 0, 0, 2);
  w.receive(id, 0, 0, 10'500);
  w.report_to(ledger, 11'000);
  const auto& c = ledger.counts().at({0, 0});
  EXPECT_EQ(c.lost, 1u);
  EXPECT_EQ(c.late, 1u);
  EXPECT_EQ(c.received, 0u);
}

TEST(ProbeLedger, ASecondReceiptIsADuplicate) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  auto id = w.send(1, 0, 0, 0);
  w.ack(id, 0, 0, 2);
  w.receive(id, 0, 0, 5);
  w.report_to(ledger, 10);
  w.receive(id, 0, 0, 900);  // a new worker re-reading what was not committed
  w.report_to(ledger, 1000);
  EXPECT_EQ(ledger.counts().at({0, 0}).received, 1u);
  EXPECT_EQ(ledger.counts().at({0, 0}).duplicated, 1u);
  EXPECT_EQ(ledger.end_to_end_latency().at(0).count(), 1u);
}

TEST(ProbeLedger, AMessageWhoseWorkerDiedBeforeTheVerdictFailsUnlessTheNextWorkerReceivesIt) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker first;
  auto gone = first.send(1, 0, 0, 0);
  auto delivered = first.send(2, 1, 1, 0);
  first.report_to(ledger, 100);
  // The worker dies; a new one starts 2 s later and reads partition 1 from the group's commit.
  Worker second;
  second.run = 8;
  second.started_ns = kT0 + 2000 * kMs;
  second.receive(delivered, 1, 0, 2500);
  second.report_to(ledger, 3000);
  EXPECT_EQ(ledger.counts().at({1, 1}).received, 1u);
  // Deadlines of the dead worker's messages count from the new worker's start (12 s), not
  // from their send time (10 s).
  second.report_to(ledger, 11'000);
  EXPECT_EQ(ledger.counts().at({0, 0}).failed, 0u);
  second.report_to(ledger, 12'001);
  EXPECT_EQ(ledger.counts().at({0, 0}).failed, 1u);
  EXPECT_EQ(ledger.counts().at({0, 0}).lost, 0u);
  EXPECT_EQ(ledger.counts().at({1, 1}).failed, 0u);
  EXPECT_EQ(ledger.outstanding(), 0u);
  (void)gone;
}

TEST(ProbeLedger, MessagesOfOtherRunsAreIgnored) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  w.receive({99, 1}, 0, 0, 5);  // sent by another exporter, or before this one started
  w.ack({99, 1}, 0, 0, 3);
  w.report_to(ledger, 10);
  EXPECT_TRUE(ledger.counts().empty());
  EXPECT_TRUE(ledger.end_to_end_latency().empty());
}

TEST(ProbeLedger, CommitsAreTimedAndFailuresCounted) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  w.report.commits.push_back({3 * kMs, ""});
  w.report.commits.push_back({20 * kMs, ""});
  w.report.commits.push_back({5000 * kMs, "not_coordinator"});
  w.report_to(ledger, 10);
  EXPECT_EQ(ledger.commit_latency().count(), 2u);
  EXPECT_NEAR(ledger.commit_latency().sum(), 0.023, 1e-9);
  EXPECT_EQ(ledger.commits_failed(), 1u);
}

TEST(ProbeLedger, SettledMessagesAreForgottenAfterAnotherLossTimeout) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  Worker w;
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    auto id = w.send(seq, 0, 0, 0);
    w.ack(id, 0, 0, 1);
    w.receive(id, 0, 0, 2);
  }
  w.report_to(ledger, 5);
  EXPECT_EQ(ledger.remembered(), 100u);
  w.report_to(ledger, 10'003);
  EXPECT_EQ(ledger.remembered(), 0u);
  // A duplicate that old is no longer recognised: ignored, not miscounted.
  w.receive({7, 1}, 0, 0, 10'004);
  w.report_to(ledger, 10'005);
  EXPECT_EQ(ledger.counts().at({0, 0}).duplicated, 0u);
  EXPECT_EQ(ledger.counts().at({0, 0}).received, 100u);
}

TEST(ProbeLedger, TouchCreatesZeroSeriesForARoute) {
  ProbeLedger ledger(kBuckets, std::chrono::seconds(10));
  ledger.touch({4, 2});
  EXPECT_EQ(ledger.counts().at({4, 2}).produced, 0u);
  EXPECT_EQ(ledger.produce_latency().at({4, 2}).count(), 0u);
  EXPECT_EQ(ledger.end_to_end_latency().at(4).count(), 0u);
}

}  // namespace
}  // namespace khe
