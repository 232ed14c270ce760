#include "khe/kafka/lag_history.h"

#include <gtest/gtest.h>

#include <cmath>

namespace khe {
namespace {

TEST(OffsetTimeTable, InterpolatesBetweenNeighbours) {
  OffsetTimeTable t;
  t.add(100, 1000);
  t.add(200, 1010);
  t.add(300, 1020);
  // Offset 250 was appended half-way between 1010 and 1020.
  EXPECT_DOUBLE_EQ(t.lag_seconds(250, 1030), 15);
  EXPECT_DOUBLE_EQ(t.lag_seconds(200, 1030), 20);
  EXPECT_DOUBLE_EQ(t.lag_seconds(300, 1030), 0);  // caught up
  EXPECT_DOUBLE_EQ(t.lag_seconds(350, 1030), 0);  // read ahead of the watermark read
}

TEST(OffsetTimeTable, NeverExtrapolatesBelowTheTable) {
  OffsetTimeTable t;
  t.add(100, 1000);
  t.add(200, 1010);
  // kafka-lag-exporter extrapolates to a made-up time; the table only knows "before 1000".
  EXPECT_DOUBLE_EQ(t.lag_seconds(10, 1030), 30);
  EXPECT_DOUBLE_EQ(t.lag_seconds(100, 1030), 30);
}

TEST(OffsetTimeTable, OnePointGivesALowerBoundAndNoPointsNaN) {
  OffsetTimeTable t;
  EXPECT_TRUE(std::isnan(t.lag_seconds(5, 1000)));
  t.add(100, 1000);
  EXPECT_DOUBLE_EQ(t.lag_seconds(50, 1004), 4);
  EXPECT_DOUBLE_EQ(t.lag_seconds(100, 1004), 0);
}

TEST(OffsetTimeTable, NeverNegative) {
  OffsetTimeTable t;
  t.add(100, 1000);
  t.add(200, 1010);
  EXPECT_GE(t.lag_seconds(150, 990), 0);  // a clock that went back
}

TEST(OffsetTimeTable, IdleStretchKeepsFirstAndNewestSample) {
  OffsetTimeTable t;
  t.add(100, 1000);
  t.add(200, 1010);
  t.add(200, 1020);
  t.add(200, 1030);
  ASSERT_EQ(t.points().size(), 3u);
  EXPECT_EQ(t.points()[1].time, 1010);
  EXPECT_EQ(t.points()[2].time, 1030);
}

TEST(OffsetTimeTable, IsBoundedAndResetsWhenTheLogGoesBack) {
  OffsetTimeTable t(5);
  for (int i = 0; i < 100; ++i) t.add(i * 10, 1000 + i);
  EXPECT_EQ(t.points().size(), 5u);
  t.add(3, 2000);  // topic recreated
  ASSERT_EQ(t.points().size(), 1u);
  EXPECT_EQ(t.points()[0].offset, 3);
  t.add(50, 1999);  // older than the last point: rejected
  EXPECT_EQ(t.points().size(), 1u);
}

// Broker offsets seen at the last polls, well past every commit in the windows below.
const std::vector<std::int64_t> kMovingOn{1300, 1400, 1500};

std::vector<CommitObservation> window_of(
    std::vector<std::pair<std::int64_t, std::int64_t>> offset_lag) {
  std::vector<CommitObservation> w;
  double t = 100;
  for (auto [o, l] : offset_lag) w.push_back({o, t += 10, l});
  return w;
}

// The cases below follow Burrow 1.9's calculatePartitionStatus (core/internal/evaluator/
// caching.go): STOP first, then "zero lag at any commit is OK", then REWIND, STALL, WARN.

TEST(BurrowStatus, NoCurrentLagIsOkWhateverTheHistory) {
  auto w = window_of({{100, 5}, {100, 5}});
  EXPECT_EQ(evaluate_partition_status(w, 0, 0, 1000, kMovingOn), PartitionStatus::kOk);
  EXPECT_EQ(evaluate_partition_status(w, 7, 10, 1000, kMovingOn), PartitionStatus::kOk);
}

TEST(BurrowStatus, NoCommitForLongerThanTheWindowSpansIsStop) {
  auto w = window_of({{1000, 50}, {1100, 60}, {1200, 70}});  // commits at 110..130
  EXPECT_EQ(evaluate_partition_status(w, 500, 0, 151, kMovingOn), PartitionStatus::kStop);
  // Exactly as long as the window spans is not yet longer.
  EXPECT_NE(evaluate_partition_status(w, 500, 0, 150, kMovingOn), PartitionStatus::kStop);
}

TEST(BurrowStatus, StopIsCheckedBeforeTheZeroLagRule) {
  // Caught up at its first commits, then it died while messages kept coming (Burrow #290).
  auto w = window_of({{1000, 0}, {1100, 0}, {1200, 50}});
  EXPECT_EQ(evaluate_partition_status(w, 300, 0, 200, kMovingOn), PartitionStatus::kStop);
}

TEST(BurrowStatus, ARecentBrokerOffsetAtTheLastCommitIsNotStop) {
  // The broker was at the last commit a few polls ago: idle and caught up, the new message may
  // simply not be consumed yet (Burrow #338).
  auto w = window_of({{1000, 50}, {1100, 60}, {1200, 0}});
  EXPECT_NE(evaluate_partition_status(w, 100, 0, 200, {1200, 1300}), PartitionStatus::kStop);
  EXPECT_EQ(evaluate_partition_status(w, 100, 0, 200, {1250, 1300}), PartitionStatus::kStop);
}

TEST(BurrowStatus, ZeroLagAtAnyCommitIsOk) {
  // Same offset at every commit would be STALL, and going back would be REWIND, but one commit
  // without lag in the window means the consumer keeps up.
  EXPECT_EQ(evaluate_partition_status(window_of({{500, 0}, {500, 50}, {500, 100}}), 100, 0, 135,
                                      kMovingOn),
            PartitionStatus::kOk);
  EXPECT_EQ(evaluate_partition_status(window_of({{500, 0}, {600, 50}, {10, 700}}), 700, 0, 135,
                                      kMovingOn),
            PartitionStatus::kOk);
  // With allowed_lag, "zero" is anything up to it.
  EXPECT_EQ(evaluate_partition_status(window_of({{500, 8}, {500, 50}, {500, 100}}), 100, 10, 135,
                                      kMovingOn),
            PartitionStatus::kOk);
}

TEST(BurrowStatus, AnyGoingBackIsRewindEvenIfLaterCommitsRecovered) {
  auto w = window_of({{1000, 50}, {1100, 50}, {10, 1200}, {20, 1190}});
  EXPECT_EQ(evaluate_partition_status(w, 1190, 0, 150, kMovingOn), PartitionStatus::kRewind);
  auto recovered = window_of({{1000, 100}, {2000, 150}, {3000, 200}, {2000, 1250}, {4000, 300}});
  EXPECT_EQ(evaluate_partition_status(recovered, 300, 0, 150, kMovingOn), PartitionStatus::kRewind);
}

TEST(BurrowStatus, SameOffsetWhileLaggingIsStall) {
  auto w = window_of({{500, 100}, {500, 200}, {500, 300}});
  EXPECT_EQ(evaluate_partition_status(w, 300, 0, 135, kMovingOn), PartitionStatus::kStall);
  // Also when the lag does not grow.
  auto flat = window_of({{500, 100}, {500, 100}, {500, 100}});
  EXPECT_EQ(evaluate_partition_status(flat, 100, 0, 135, kMovingOn), PartitionStatus::kStall);
}

TEST(BurrowStatus, MovingButNeverGainingIsWarn) {
  auto w = window_of({{500, 100}, {510, 150}, {520, 150}, {530, 220}});
  EXPECT_EQ(evaluate_partition_status(w, 220, 0, 145, kMovingOn), PartitionStatus::kWarn);
}

TEST(BurrowStatus, MovingAndGainingIsOk) {
  auto w = window_of({{500, 300}, {600, 250}, {700, 260}});
  EXPECT_EQ(evaluate_partition_status(w, 260, 0, 135, kMovingOn), PartitionStatus::kOk);
}

TEST(BurrowStatus, OneLaggingCommitIsOnlyJudgedForStop) {
  auto w = window_of({{500, 300}});  // committed at 110
  EXPECT_EQ(evaluate_partition_status(w, 300, 0, 110, kMovingOn), PartitionStatus::kOk);
  EXPECT_EQ(evaluate_partition_status(w, 300, 0, 111, kMovingOn), PartitionStatus::kStop);
}

TEST(BurrowStatus, GroupIsItsWorstPartition) {
  EXPECT_EQ(group_status_of({PartitionStatus::kOk, PartitionStatus::kOk}), GroupStatus::kOk);
  EXPECT_EQ(group_status_of({PartitionStatus::kOk, PartitionStatus::kWarn}), GroupStatus::kWarn);
  for (auto bad : {PartitionStatus::kStop, PartitionStatus::kStall, PartitionStatus::kRewind}) {
    EXPECT_EQ(group_status_of({PartitionStatus::kWarn, bad}), GroupStatus::kErr);
  }
}

ClusterView view_at(std::int64_t latest, std::int64_t committed, bool members) {
  ClusterView v;
  v.metadata.topics.push_back({"t", false, {{0, 1, {1}, {1}, ""}}});
  v.watermarks[{"t", 0}] = {0, latest};
  ClusterView::Group g;
  g.group = "g";
  GroupDescription d{"g", members ? "Stable" : "Empty", "", "consumer", 1, {}};
  if (members) d.members.push_back({"c", "c", "h", {{"t", 0}}});
  g.description = d;
  g.committed[{"t", 0}] = committed;
  v.groups.push_back(g);
  return v;
}

TEST(LagHistory, AStoppedConsumerTurnsStopAndItsLagSecondsGrow) {
  LagHistory h;
  LagInsights last;
  // Producing 10 msg/s; the consumer commits until t=30, then leaves the group.
  for (int t = 0; t <= 30; t += 5) last = h.update(view_at(t * 10, t * 10, true), 1000 + t);
  for (int t = 35; t <= 120; t += 5) last = h.update(view_at(t * 10, 300, false), 1000 + t);
  GroupPartition key{"g", {"t", 0}};
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kStop);
  EXPECT_EQ(last.group_status.at("g"), GroupStatus::kErr);
  // Offset 300 was the latest at t=30: 90 s ago.
  EXPECT_NEAR(last.lag_seconds.at(key), 90, 1e-9);
}

TEST(LagHistory, ACaughtUpConsumerIsOkWithZeroSeconds) {
  LagHistory h;
  LagInsights last;
  for (int t = 0; t <= 60; t += 5) last = h.update(view_at(t * 10, t * 10, true), 1000 + t);
  GroupPartition key{"g", {"t", 0}};
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kOk);
  EXPECT_EQ(last.lag_seconds.at(key), 0);
}

TEST(LagHistory, OffsetsResetToEarliestAreRewindUntilTheWindowAgesIntoStop) {
  LagHistory h(LagHistoryOptions{60, 10, 0});
  LagInsights last;
  GroupPartition key{"g", {"t", 0}};
  // A group that read half of 100 messages and left: STOP.
  for (int t = 0; t <= 20; t += 5) last = h.update(view_at(100, 50, false), 1000 + t);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kStop);
  // kafka-consumer-groups --reset-offsets --to-earliest: a commit below the last one.
  last = h.update(view_at(100, 0, false), 1025);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kRewind);
  last = h.update(view_at(100, 0, false), 1045);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kRewind);
  // Once no commit came for longer than the window spans (25 s), STOP wins again.
  last = h.update(view_at(100, 0, false), 1051);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kStop);
}

TEST(LagHistory, AMemberThatStopsMovingTurnsStallOnceItsZeroLagCommitsLeaveTheWindow) {
  LagHistory h(LagHistoryOptions{60, 3, 0});
  LagInsights last;
  GroupPartition key{"g", {"t", 0}};
  for (int t = 0; t <= 10; t += 5) last = h.update(view_at(t * 10, t * 10, true), 1000 + t);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kOk);
  // Frozen at offset 100 while the log grows; still a member, so each poll is a commit.
  last = h.update(view_at(150, 100, true), 1015);
  last = h.update(view_at(200, 100, true), 1020);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kOk);  // lag 0 at 1010 in the window
  last = h.update(view_at(250, 100, true), 1025);
  EXPECT_EQ(last.partition_status.at(key), PartitionStatus::kStall);
}

TEST(LagHistory, ForgetsDeletedPartitionsAndGroups) {
  LagHistory h;
  h.update(view_at(10, 5, true), 1000);
  ClusterView empty;
  auto insights = h.update(empty, 1005);
  EXPECT_TRUE(insights.lag_seconds.empty());
  // A recreated topic starts from scratch: one point, so only a lower bound.
  auto again = h.update(view_at(10, 5, true), 1010);
  EXPECT_EQ(again.lag_seconds.at({"g", {"t", 0}}), 0);
}

}  // namespace
}  // namespace khe
