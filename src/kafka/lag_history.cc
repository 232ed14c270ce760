#include "khe/kafka/lag_history.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace khe {

void OffsetTimeTable::add(std::int64_t offset, double time) {
  if (!points_.empty()) {
    const Point& last = points_.back();
    if (time < last.time) return;
    if (offset < last.offset) {
      // The log went backwards: the topic was recreated or truncated. Old points describe a
      // different log and would make every interpolation wrong.
      points_.clear();
    } else if (points_.size() >= 2 && offset == last.offset &&
               points_[points_.size() - 2].offset == offset) {
      // An idle stretch keeps its first and its newest sample only.
      points_.back().time = time;
      return;
    }
  }
  points_.push_back({offset, time});
  // At most capacity_ (60) points: erasing at the front is cheap, and a vector costs far less
  // memory than a deque for the many partitions that hold only two or three points.
  if (points_.size() > capacity_) points_.erase(points_.begin());
}

double OffsetTimeTable::lag_seconds(std::int64_t committed, double now) const {
  if (points_.empty()) return std::numeric_limits<double>::quiet_NaN();
  const Point& newest = points_.back();
  if (committed >= newest.offset) return 0;
  const Point& first = points_.front();
  if (committed < first.offset || points_.size() < 2) {
    // Older than anything the table saw: the message was appended before the first point. The
    // honest answer is that lower bound, not an extrapolation.
    return std::max(0.0, now - first.time);
  }
  // Neighbours l < committed <= r.
  auto r = std::lower_bound(points_.begin(), points_.end(), committed,
                            [](const Point& p, std::int64_t c) { return p.offset < c; });
  if (r == points_.begin()) return std::max(0.0, now - first.time);
  auto l = std::prev(r);  // lower_bound guarantees l->offset < committed
  double t = r->time;
  if (r->offset != l->offset) {
    t = r->time - static_cast<double>(r->offset - committed) * (r->time - l->time) /
                      static_cast<double>(r->offset - l->offset);
  }
  return std::max(0.0, now - t);
}

PartitionStatus evaluate_partition_status(const std::vector<CommitObservation>& window,
                                          std::int64_t current_lag, std::int64_t allowed_lag,
                                          double now,
                                          const std::vector<std::int64_t>& recent_latest) {
  // Not lagging now: fine, whatever the history says.
  if (current_lag <= allowed_lag || window.empty()) return PartitionStatus::kOk;
  const auto& oldest = window.front();
  const auto& newest = window.back();
  // STOP comes first, before the zero-lag rule: a consumer that was caught up at its last
  // commits and then died must still turn STOP (Burrow #290). Unless a recent broker offset was
  // at or below its last commit: it was caught up a moment ago and may just not have seen the
  // new message yet (Burrow #338).
  if (now - newest.time > newest.time - oldest.time) {
    bool recently_caught_up =
        std::any_of(recent_latest.begin(), recent_latest.end(),
                    [&](std::int64_t latest) { return latest <= newest.offset; });
    if (!recently_caught_up) return PartitionStatus::kStop;
  }
  // Zero lag at any commit in the window: the consumer keeps up, nothing else is checked.
  if (std::any_of(window.begin(), window.end(),
                  [&](const auto& c) { return c.lag <= allowed_lag; })) {
    return PartitionStatus::kOk;
  }
  if (window.size() < 2) return PartitionStatus::kOk;  // see the header
  // REWIND: any commit below the one before it, even if a later one went past it again.
  for (std::size_t i = 1; i < window.size(); ++i) {
    if (window[i].offset < window[i - 1].offset) return PartitionStatus::kRewind;
  }
  // STALL: committing, but always the same offset.
  if (std::all_of(window.begin(), window.end(),
                  [&](const auto& c) { return c.offset == oldest.offset; })) {
    return PartitionStatus::kStall;
  }
  // WARN: moving, but the lag never went down from one commit to the next.
  for (std::size_t i = 1; i < window.size(); ++i) {
    if (window[i].lag < window[i - 1].lag) return PartitionStatus::kOk;
  }
  return PartitionStatus::kWarn;
}

GroupStatus group_status_of(const std::vector<PartitionStatus>& partitions) {
  GroupStatus worst = GroupStatus::kOk;
  for (auto p : partitions) {
    if (p == PartitionStatus::kWarn && worst == GroupStatus::kOk) worst = GroupStatus::kWarn;
    if (p == PartitionStatus::kStop || p == PartitionStatus::kStall ||
        p == PartitionStatus::kRewind) {
      worst = GroupStatus::kErr;
    }
  }
  return worst;
}

LagInsights LagHistory::update(const ClusterView& view, double now) {
  std::set<TopicPartition> seen_partitions;
  for (const auto& [tp, w] : view.watermarks) {
    if (w.latest < 0) continue;
    seen_partitions.insert(tp);
    auto [it, inserted] =
        partitions_.try_emplace(tp, PartitionMemory{OffsetTimeTable(options_.table_size), {}});
    auto& recent = it->second.recent_latest;
    // The log went backwards (recreated or truncated): its old offsets describe another log.
    if (!recent.empty() && w.latest < recent.back()) recent.clear();
    recent.push_back(w.latest);
    if (recent.size() > options_.status_window) recent.erase(recent.begin());
    it->second.table.add(w.latest, now);
  }
  // A partition whose watermark could not be read this poll keeps its table (its broker may
  // come back); one that left the metadata is forgotten.
  std::set<TopicPartition> in_metadata;
  for (const auto& t : view.metadata.topics) {
    for (const auto& p : t.partitions) in_metadata.insert({t.name, p.partition});
  }
  std::erase_if(partitions_, [&](const auto& e) { return in_metadata.count(e.first) == 0; });

  LagInsights out;
  std::set<GroupPartition> seen_commits;
  for (const auto& g : view.groups) {
    bool has_members = g.description && !g.description->members.empty();
    std::vector<PartitionStatus> statuses;
    for (const auto& [tp, committed] : g.committed) {
      GroupPartition key{g.group, tp};
      seen_commits.insert(key);
      auto memory = partitions_.find(tp);
      auto w = view.watermarks.find(tp);
      if (memory == partitions_.end() || w == view.watermarks.end()) continue;
      auto lag = consumer_lag(w->second.latest, committed);
      if (!lag) continue;
      // The record's own timestamp when it could be read; interpolation otherwise.
      if (auto ts = view.record_timestamps_ms.find({tp, committed});
          ts != view.record_timestamps_ms.end()) {
        out.lag_seconds[key] = std::max(0.0, now - static_cast<double>(ts->second) / 1000.0);
      } else {
        out.lag_seconds[key] = memory->second.table.lag_seconds(committed, now);
      }

      auto& window = windows_[key];
      if (window.empty() || window.back().offset != committed || has_members) {
        window.push_back({committed, now, *lag});
        if (window.size() > options_.status_window) window.erase(window.begin());
      }
      auto status = evaluate_partition_status(window, *lag, options_.allowed_lag, now,
                                              memory->second.recent_latest);
      out.partition_status[key] = status;
      statuses.push_back(status);
    }
    if (!statuses.empty()) out.group_status[g.group] = group_status_of(statuses);
  }
  std::erase_if(windows_, [&](const auto& e) { return seen_commits.count(e.first) == 0; });
  return out;
}

}  // namespace khe
