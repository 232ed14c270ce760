// What the lag collector remembers between polls: per partition, when each watermark was seen
// (for lag in seconds), and per group and partition, the last commits seen (for Burrow's
// consumer status). Pure logic on plain values; owned by one LagCollector, not thread-safe.
//
// Lag in seconds follows kafka-lag-exporter's interpolation over a table of (latest offset, time)
// with its known faults fixed: never negative, no extrapolation (a commit older than the table
// gives the lower bound "at least since the first point"), 0 when caught up, NaN only when the
// partition was never seen.
//
// Consumer status follows Burrow's rules in Burrow's order (linkedin/Burrow 1.9.x,
// core/internal/evaluator/caching.go, calculatePartitionStatus): no current lag is OK; then STOP
// (no commit for longer than the window spans, unless one of the recent broker offsets was at or
// below the last commit); then, only if every commit in the window had lag, REWIND, STALL, WARN.
// Burrow reads every commit from __consumer_offsets; a poller sees only the latest committed
// offset, so a commit is recorded when the offset moves, and while the group has members an
// unchanged offset is recorded again each poll (a live consumer keeps committing where it is,
// which is what Burrow's STALL sees). An Empty group records nothing new, so its window ages into
// STOP.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "khe/kafka/lag_model.h"

namespace khe {

// Burrow's numeric codes, as Burrow exports them.
enum class PartitionStatus { kOk = 1, kWarn = 2, kStop = 4, kStall = 5, kRewind = 6 };
enum class GroupStatus { kNotFound = 0, kOk = 1, kWarn = 2, kErr = 3 };

class OffsetTimeTable {
 public:
  explicit OffsetTimeTable(std::size_t capacity = 60) : capacity_(capacity) {}

  struct Point {
    std::int64_t offset;
    double time;  // unix seconds
  };

  void add(std::int64_t offset, double time);
  // Seconds since the message at `committed` was appended, as far as the table can tell.
  double lag_seconds(std::int64_t committed, double now) const;
  const std::vector<Point>& points() const { return points_; }

 private:
  std::size_t capacity_;
  std::vector<Point> points_;
};

struct CommitObservation {
  std::int64_t offset;
  double time;
  std::int64_t lag;
};

// Burrow's evaluation of one partition. `window`: the last commits, oldest first.
// `recent_latest`: the partition's latest offsets from the last polls (Burrow keeps as many broker
// offsets as commits). `allowed_lag` is the zero of Burrow's rules (Burrow itself has 0).
//
// One deliberate difference: a window of a single commit is OK unless STOP. Burrow starts with
// the history of __consumer_offsets and would call one lagging commit STALL; this exporter starts
// with no history, and one observation is not a trend.
PartitionStatus evaluate_partition_status(const std::vector<CommitObservation>& window,
                                          std::int64_t current_lag, std::int64_t allowed_lag,
                                          double now,
                                          const std::vector<std::int64_t>& recent_latest);
GroupStatus group_status_of(const std::vector<PartitionStatus>& partitions);

struct GroupPartition {
  std::string group;
  TopicPartition tp;
  bool operator<(const GroupPartition& o) const {
    return std::tie(group, tp) < std::tie(o.group, o.tp);
  }
};

// What one poll adds to the view: derived from this poll and the remembered ones.
struct LagInsights {
  std::map<GroupPartition, double> lag_seconds;
  std::map<GroupPartition, PartitionStatus> partition_status;
  std::map<std::string, GroupStatus> group_status;
};

struct LagHistoryOptions {
  std::size_t table_size = 60;     // points per partition for lag in seconds
  std::size_t status_window = 10;  // commits per group and partition (Burrow's default)
  std::int64_t allowed_lag = 0;    // Burrow's zero threshold
};

class LagHistory {
 public:
  explicit LagHistory(LagHistoryOptions options = {}) : options_(options) {}

  // Records this poll (taken at unix time `now`) and evaluates it. Partitions and groups that
  // are gone from the view are forgotten, so memory follows the cluster.
  LagInsights update(const ClusterView& view, double now);

 private:
  struct PartitionMemory {
    OffsetTimeTable table;
    std::vector<std::int64_t> recent_latest;  // last status_window latest offsets, oldest first
  };
  LagHistoryOptions options_;
  std::map<TopicPartition, PartitionMemory> partitions_;
  std::map<GroupPartition, std::vector<CommitObservation>> windows_;
};

}  // namespace khe
