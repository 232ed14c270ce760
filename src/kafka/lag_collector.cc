#include "khe/kafka/lag_collector.h"

#include <algorithm>
#include <map>
#include <set>

#include "khe/kafka/cluster_view_source.h"
#include "khe/kafka/lag_families.h"

namespace khe {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace

LagCollector::LagCollector(KafkaOptions options, std::unique_ptr<ClusterViewSource> source)
    : options_(std::move(options)),
      source_(std::move(source)),
      history_(LagHistoryOptions{options_.lag_seconds_table_size, options_.status_window,
                                 options_.status_allowed_lag}) {}

LagCollector::LagCollector(KafkaOptions options, std::unique_ptr<OffsetsSource> source)
    : LagCollector(options,  // copied: the in-process source keeps its own
                   std::make_unique<InProcessViewSource>(options, std::move(source))) {}

Result<Collection> LagCollector::collect(Clock::time_point deadline) {
  auto gathered = source_->gather(deadline);
  if (!gathered) return gathered.error();
  Collection out;
  out.errors = std::move(gathered.value().errors);
  double now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  LagInsights insights = history_.update(gathered->view, now);
  out.families = build_lag_families(
      gathered->view,
      LagFamilyOptions{options_.cluster_name, options_.naming, options_.per_partition_series},
      &insights);
  return out;
}

Result<GatheredView> gather_cluster_view(OffsetsSource& source, const KafkaOptions& options,
                                         Clock::time_point deadline) {
  GatheredView out;
  auto metadata = source.metadata(until(deadline));
  if (!metadata) return metadata.error();

  ClusterView& view = out.view;
  view.metadata.brokers = metadata->brokers;
  view.metadata.controller_id = metadata->controller_id;
  std::vector<TopicPartition> partitions;
  for (const auto& topic : metadata->topics) {
    if (topic.internal && !options.include_internal_topics) continue;
    if (!options.topic_filter.allows(topic.name)) continue;
    for (const auto& p : topic.partitions) partitions.push_back({topic.name, p.partition});
    view.metadata.topics.push_back(topic);
  }

  // Groups first: committed offsets must be read before the watermarks they are compared with.
  // They get at most 60% of what is left so the watermarks always get a fair share.
  auto group_deadline = Clock::now() + (deadline - Clock::now()) * 6 / 10;
  // Listing asks every broker librdkafka knows, and one that died is still asked until the
  // request times out: a third of the group budget keeps the rest for describing and offsets.
  auto listing = source.list_groups(until(Clock::now() + (group_deadline - Clock::now()) / 3));
  std::vector<std::string> group_names;
  if (listing) {
    for (const auto& g : listing->groups) {
      if (options.group_filter.allows(g.group)) group_names.push_back(g.group);
    }
    out.errors.insert(out.errors.end(), listing->errors.begin(), listing->errors.end());
  } else {
    out.errors.push_back(listing.error());
  }
  std::sort(group_names.begin(), group_names.end());
  auto details = source.group_details(group_names, until(group_deadline));
  out.errors.insert(out.errors.end(), details.errors.begin(), details.errors.end());

  std::map<std::string, ClusterView::Group> groups;
  for (auto& d : details.descriptions) {
    // A group that vanished between listing and describing is not a group any more.
    if (d.state == "Dead") continue;
    auto& g = groups[d.group];
    g.group = d.group;
    g.description = std::move(d);
  }
  std::set<TopicPartition> exported(partitions.begin(), partitions.end());
  for (auto& o : details.offsets) {
    auto& g = groups[o.group];
    g.group = o.group;
    for (auto& [tp, offset] : o.committed) {
      if (exported.count(tp) > 0) g.committed.emplace(tp, offset);
    }
  }
  for (auto& [name, g] : groups) {
    if (!g.description && g.committed.empty()) continue;
    view.groups.push_back(std::move(g));
  }

  auto watermarks = source.watermarks(view.metadata, partitions, until(deadline));
  view.watermarks = std::move(watermarks.offsets);
  view.partition_errors = std::move(watermarks.failed);
  out.errors.insert(out.errors.end(), watermarks.errors.begin(), watermarks.errors.end());

  // The exact age of lagging commits: the record at each distinct lagging committed offset,
  // largest lag first, within the budget and what is left of the deadline.
  if (options.lag_seconds_record_budget > 0) {
    std::map<TopicPartitionOffset, std::int64_t> lag_of;
    for (const auto& g : view.groups) {
      for (const auto& [tp, committed] : g.committed) {
        auto w = view.watermarks.find(tp);
        if (w == view.watermarks.end() || committed >= w->second.latest) continue;
        lag_of[{tp, committed}] = w->second.latest - committed;
      }
    }
    std::vector<std::pair<std::int64_t, TopicPartitionOffset>> by_lag;
    for (const auto& [tpo, lag] : lag_of) by_lag.emplace_back(lag, tpo);
    std::sort(by_lag.begin(), by_lag.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<TopicPartitionOffset> wanted;
    for (const auto& [lag, tpo] : by_lag) {
      if (wanted.size() >= static_cast<std::size_t>(options.lag_seconds_record_budget)) break;
      wanted.push_back(tpo);
    }
    if (!wanted.empty()) {
      auto found = source.record_timestamps(wanted, until(deadline));
      view.record_timestamps_ms = std::move(found.timestamps_ms);
      out.errors.insert(out.errors.end(), found.errors.begin(), found.errors.end());
    }
  }

  return out;
}

}  // namespace khe
