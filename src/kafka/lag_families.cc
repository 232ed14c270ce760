#include "khe/kafka/lag_families.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

namespace khe {
namespace {

constexpr const char* kUnknownMember = "unknown";

struct Member {
  std::string host = kUnknownMember;
  std::string consumer_id = kUnknownMember;
  std::string client_id = kUnknownMember;
};

std::string str(std::int64_t v) { return std::to_string(v); }

bool uses_lag_exporter_names(LagNaming n) { return n != LagNaming::kKafkaExporter; }
bool uses_kafka_exporter_names(LagNaming n) { return n != LagNaming::kKafkaLagExporter; }

void add_broker_families(const ClusterView& view, FamilySet& set) {
  const auto& md = view.metadata;
  set.family("kafka_brokers", "Number of brokers in the cluster's metadata.", MetricType::kGauge, {})
      .add({}, static_cast<double>(md.brokers.size()));
  auto& info = set.family("kafka_broker_info", "Broker id and address; always 1.",
                          MetricType::kGauge, {"id", "address"});
  auto& is_controller = set.family("kafka_broker_is_controller",
                                   "1 for the broker that is the active controller, else 0.",
                                   MetricType::kGauge, {"id"});
  std::vector<BrokerInfo> brokers = md.brokers;
  std::sort(brokers.begin(), brokers.end(),
            [](const BrokerInfo& a, const BrokerInfo& b) { return a.id < b.id; });
  for (const auto& b : brokers) {
    info.add({str(b.id), b.host + ":" + std::to_string(b.port)}, 1);
    is_controller.add({str(b.id)}, b.id == md.controller_id ? 1 : 0);
  }
  set.family("kafka_cluster_active_controller_id",
             "Broker id of the active controller, -1 when none is known.", MetricType::kGauge, {})
      .add({}, md.controller_id);
}

void add_topic_families(const ClusterView& view, const LagFamilyOptions& options, FamilySet& set) {
  const auto& md = view.metadata;
  std::set<std::int32_t> live;
  for (const auto& b : md.brokers) live.insert(b.id);

  auto& partitions = set.family("kafka_topic_partitions", "Number of partitions of the topic.",
                                MetricType::kGauge, {"topic"});
  auto& topic_urp = set.family("kafka_topic_under_replicated_partitions",
                               "Partitions of the topic whose in-sync replicas are fewer than "
                               "their replicas.",
                               MetricType::kGauge, {"topic"});
  auto& topic_offline = set.family("kafka_topic_offline_partitions",
                                   "Partitions of the topic without a leader.", MetricType::kGauge,
                                   {"topic"});
  const bool pp = options.per_partition_series;
  const std::vector<std::string> tp_labels{"topic", "partition"};
  Family* leader = nullptr;
  Family* replicas = nullptr;
  Family* isr = nullptr;
  Family* preferred = nullptr;
  Family* urp = nullptr;
  Family* offline_replicas = nullptr;
  if (pp) {
    leader = &set.family("kafka_topic_partition_leader", "Broker id of the partition's leader.",
                         MetricType::kGauge, tp_labels);
    replicas = &set.family("kafka_topic_partition_replicas", "Number of replicas of the partition.",
                           MetricType::kGauge, tp_labels);
    isr = &set.family("kafka_topic_partition_in_sync_replica",
                      "Number of in-sync replicas of the partition.", MetricType::kGauge, tp_labels);
    preferred = &set.family("kafka_topic_partition_leader_is_preferred",
                            "1 if the partition's leader is its preferred (first) replica.",
                            MetricType::kGauge, tp_labels);
    urp = &set.family("kafka_topic_partition_under_replicated_partition",
                      "1 if the partition has fewer in-sync replicas than replicas.",
                      MetricType::kGauge, tp_labels);
    offline_replicas = &set.family("kafka_topic_partition_offline_replicas",
                                   "Replicas of the partition on brokers that are not alive.",
                                   MetricType::kGauge, tp_labels);
  }
  std::int64_t cluster_offline = 0, cluster_urp = 0, cluster_partitions = 0;
  std::vector<const TopicInfo*> topics;
  for (const auto& t : md.topics) topics.push_back(&t);
  std::sort(topics.begin(), topics.end(),
            [](const TopicInfo* a, const TopicInfo* b) { return a->name < b->name; });
  for (const TopicInfo* t : topics) {
    partitions.add({t->name}, static_cast<double>(t->partitions.size()));
    std::int64_t t_urp = 0, t_offline = 0;
    for (const auto& p : t->partitions) {
      bool is_urp = p.isr.size() < p.replicas.size();
      bool is_offline = p.leader < 0;
      t_urp += is_urp;
      t_offline += is_offline;
      if (pp) {
        std::vector<std::string> lv{t->name, str(p.partition)};
        leader->add(lv, p.leader);
        replicas->add(lv, static_cast<double>(p.replicas.size()));
        isr->add(lv, static_cast<double>(p.isr.size()));
        preferred->add(lv, !p.replicas.empty() && p.replicas.front() == p.leader ? 1 : 0);
        urp->add(lv, is_urp ? 1 : 0);
        auto offline = std::count_if(p.replicas.begin(), p.replicas.end(),
                                     [&](std::int32_t r) { return live.count(r) == 0; });
        offline_replicas->add(std::move(lv), static_cast<double>(offline));
      }
    }
    topic_urp.add({t->name}, static_cast<double>(t_urp));
    topic_offline.add({t->name}, static_cast<double>(t_offline));
    cluster_urp += t_urp;
    cluster_offline += t_offline;
    cluster_partitions += static_cast<std::int64_t>(t->partitions.size());
  }
  set.family("kafka_cluster_partitions", "Partitions in the cluster (of the exported topics).",
             MetricType::kGauge, {})
      .add({}, static_cast<double>(cluster_partitions));
  set.family("kafka_cluster_under_replicated_partitions",
             "Under-replicated partitions in the cluster (of the exported topics).",
             MetricType::kGauge, {})
      .add({}, static_cast<double>(cluster_urp));
  set.family("kafka_cluster_offline_partitions",
             "Partitions without a leader in the cluster (of the exported topics).",
             MetricType::kGauge, {})
      .add({}, static_cast<double>(cluster_offline));

  if (pp) {
    if (uses_lag_exporter_names(options.naming)) {
      auto& latest = set.family("kafka_partition_latest_offset",
                                "High watermark (log end offset) of the partition.",
                                MetricType::kGauge, {"cluster_name", "topic", "partition"});
      auto& earliest = set.family("kafka_partition_earliest_offset",
                                  "Earliest (log start) offset of the partition.",
                                  MetricType::kGauge, {"cluster_name", "topic", "partition"});
      for (const auto& [tp, w] : view.watermarks) {
        if (w.latest >= 0) latest.add({options.cluster_name, tp.topic, str(tp.partition)}, w.latest);
        if (w.earliest >= 0) {
          earliest.add({options.cluster_name, tp.topic, str(tp.partition)}, w.earliest);
        }
      }
    }
    if (uses_kafka_exporter_names(options.naming)) {
      auto& current = set.family("kafka_topic_partition_current_offset",
                                 "High watermark (log end offset) of the partition.",
                                 MetricType::kGauge, tp_labels);
      auto& oldest = set.family("kafka_topic_partition_oldest_offset",
                                "Earliest (log start) offset of the partition.", MetricType::kGauge,
                                tp_labels);
      for (const auto& [tp, w] : view.watermarks) {
        if (w.latest >= 0) current.add({tp.topic, str(tp.partition)}, w.latest);
        if (w.earliest >= 0) oldest.add({tp.topic, str(tp.partition)}, w.earliest);
      }
    }
  }
  // Not per-partition-optional: these are few and they are the broker-down signal.
  auto& unavailable = set.family("kafka_hub_exporter_partition_offsets_unavailable",
                                 "1 for a partition whose offsets could not be read in the last "
                                 "poll (no leader, or its leader did not answer).",
                                 MetricType::kGauge, {"topic", "partition", "reason"});
  for (const auto& [tp, reason] : view.partition_errors) {
    unavailable.add({tp.topic, str(tp.partition), reason}, 1);
  }
}

void add_insight_families(const ClusterView& view, const LagFamilyOptions& options,
                          const LagInsights& insights, FamilySet& set) {
  const bool pp = options.per_partition_series;
  const std::string& cluster = options.cluster_name;
  Family* seconds = nullptr;
  Family* partition_status = nullptr;
  if (pp) {
    seconds = &set.family("kafka_consumergroup_group_lag_seconds",
                          "How long ago the message at the committed offset was appended, in "
                          "seconds (interpolated from watermarks seen at each poll; NaN when "
                          "nothing is known yet).",
                          MetricType::kGauge,
                          {"cluster_name", "group", "topic", "partition", "member_host",
                           "consumer_id", "client_id"});
    partition_status = &set.family(
        "kafka_consumergroup_partition_status",
        "Burrow's partition status: 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.", MetricType::kGauge,
        {"group", "topic", "partition"});
  }
  auto& max_seconds = set.family("kafka_consumergroup_group_max_lag_seconds",
                                 "Largest partition lag of the group, in seconds.",
                                 MetricType::kGauge, {"cluster_name", "group"});
  auto& group_status = set.family("kafka_consumergroup_group_status",
                                  "Burrow's group status: 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR.",
                                  MetricType::kGauge, {"group"});
  for (const auto& g : view.groups) {
    std::map<TopicPartition, Member> owner;
    if (g.description) {
      for (const auto& m : g.description->members) {
        for (const auto& tp : m.assignment) owner[tp] = Member{m.host, m.consumer_id, m.client_id};
      }
    }
    std::optional<double> max;
    for (const auto& [tp, committed] : g.committed) {
      GroupPartition key{g.group, tp};
      if (auto it = insights.lag_seconds.find(key); it != insights.lag_seconds.end()) {
        if (!std::isnan(it->second)) max = std::max(max.value_or(0), it->second);
        if (seconds) {
          auto o = owner.find(tp);
          Member m = o == owner.end() ? Member{} : o->second;
          seconds->add({cluster, g.group, tp.topic, str(tp.partition), m.host, m.consumer_id,
                        m.client_id},
                       it->second);
        }
      }
      if (auto it = insights.partition_status.find(key);
          partition_status && it != insights.partition_status.end()) {
        partition_status->add({g.group, tp.topic, str(tp.partition)},
                              static_cast<double>(it->second));
      }
    }
    if (max) max_seconds.add({cluster, g.group}, *max);
    if (auto it = insights.group_status.find(g.group); it != insights.group_status.end()) {
      group_status.add({g.group}, static_cast<double>(it->second));
    }
  }
}

void add_group_families(const ClusterView& view, const LagFamilyOptions& options, FamilySet& set) {
  const bool a = uses_lag_exporter_names(options.naming);
  const bool b = uses_kafka_exporter_names(options.naming);
  const bool pp = options.per_partition_series;
  const std::string& cluster = options.cluster_name;

  auto& info = set.family("kafka_consumergroup_group_info",
                          "Consumer group state, assignor, protocol type and coordinator; always 1.",
                          MetricType::kGauge,
                          {"cluster_name", "group", "state", "protocol", "protocol_type",
                           "coordinator_id"});
  Family *a_members = nullptr, *a_offset = nullptr, *a_lag = nullptr, *a_max = nullptr,
         *a_sum = nullptr, *a_topic_sum = nullptr;
  Family *b_members = nullptr, *b_offset = nullptr, *b_offset_sum = nullptr, *b_lag = nullptr,
         *b_lag_sum = nullptr;
  const std::vector<std::string> member_labels{"cluster_name", "group",       "topic",    "partition",
                                               "member_host",  "consumer_id", "client_id"};
  if (a) {
    a_members = &set.family("kafka_consumergroup_group_members",
                            "Number of members of the consumer group.", MetricType::kGauge,
                            {"cluster_name", "group"});
    if (pp) {
      a_offset = &set.family("kafka_consumergroup_group_offset",
                             "Last committed offset of the group on the partition.",
                             MetricType::kGauge, member_labels);
      a_lag = &set.family("kafka_consumergroup_group_lag",
                          "Messages the group is behind on the partition: max(0, latest offset - "
                          "committed offset).",
                          MetricType::kGauge, member_labels);
    }
    a_max = &set.family("kafka_consumergroup_group_max_lag",
                        "Largest partition lag of the group, in messages.", MetricType::kGauge,
                        {"cluster_name", "group"});
    a_sum = &set.family("kafka_consumergroup_group_sum_lag",
                        "Sum of the group's partition lags, in messages.", MetricType::kGauge,
                        {"cluster_name", "group"});
    a_topic_sum = &set.family("kafka_consumergroup_group_topic_sum_lag",
                              "Sum of the group's partition lags on the topic, in messages.",
                              MetricType::kGauge, {"cluster_name", "group", "topic"});
  }
  if (b) {
    b_members = &set.family("kafka_consumergroup_members", "Number of members of the consumer group.",
                            MetricType::kGauge, {"consumergroup"});
    if (pp) {
      b_offset = &set.family("kafka_consumergroup_current_offset",
                             "Last committed offset of the group on the partition.",
                             MetricType::kGauge, {"consumergroup", "topic", "partition"});
      b_lag = &set.family("kafka_consumergroup_lag",
                          "Messages the group is behind on the partition (never negative).",
                          MetricType::kGauge, {"consumergroup", "topic", "partition"});
    }
    b_offset_sum = &set.family("kafka_consumergroup_current_offset_sum",
                               "Sum of the group's committed offsets on the topic.",
                               MetricType::kGauge, {"consumergroup", "topic"});
    b_lag_sum = &set.family("kafka_consumergroup_lag_sum",
                            "Sum of the group's partition lags on the topic, in messages.",
                            MetricType::kGauge, {"consumergroup", "topic"});
  }

  std::vector<const ClusterView::Group*> groups;
  for (const auto& g : view.groups) groups.push_back(&g);
  std::sort(groups.begin(), groups.end(),
            [](const auto* x, const auto* y) { return x->group < y->group; });

  for (const auto* g : groups) {
    std::map<TopicPartition, Member> owner;
    std::size_t member_count = 0;
    if (g->description) {
      const auto& d = *g->description;
      member_count = d.members.size();
      info.add({cluster, g->group, d.state, d.protocol, d.protocol_type, str(d.coordinator_id)}, 1);
      for (const auto& m : d.members) {
        for (const auto& tp : m.assignment) owner[tp] = Member{m.host, m.consumer_id, m.client_id};
      }
      if (a_members) a_members->add({cluster, g->group}, static_cast<double>(member_count));
      if (b_members) b_members->add({g->group}, static_cast<double>(member_count));
    }
    std::optional<std::int64_t> max_lag;
    std::int64_t sum_lag = 0;
    struct TopicSums {
      std::int64_t lag = 0;
      bool has_lag = false;
      std::int64_t offset = 0;
    };
    std::map<std::string, TopicSums> by_topic;
    for (const auto& [tp, committed] : g->committed) {
      auto& sums = by_topic[tp.topic];
      sums.offset += committed;
      auto w = view.watermarks.find(tp);
      std::optional<std::int64_t> lag;
      if (w != view.watermarks.end()) lag = consumer_lag(w->second.latest, committed);
      if (lag) {
        sums.lag += *lag;
        sums.has_lag = true;
        sum_lag += *lag;
        max_lag = std::max(max_lag.value_or(0), *lag);
      }
      if (pp && a) {
        auto it = owner.find(tp);
        Member m = it == owner.end() ? Member{} : it->second;
        std::vector<std::string> lv{cluster,   g->group,      tp.topic,   str(tp.partition),
                                    m.host, m.consumer_id, m.client_id};
        a_offset->add(lv, committed);
        if (lag) a_lag->add(std::move(lv), *lag);
      }
      if (pp && b) {
        b_offset->add({g->group, tp.topic, str(tp.partition)}, committed);
        if (lag) b_lag->add({g->group, tp.topic, str(tp.partition)}, *lag);
      }
    }
    if (max_lag) {
      if (a) {
        a_max->add({cluster, g->group}, *max_lag);
        a_sum->add({cluster, g->group}, sum_lag);
      }
    }
    for (const auto& [topic, sums] : by_topic) {
      if (a && sums.has_lag) a_topic_sum->add({cluster, g->group, topic}, sums.lag);
      if (b) {
        b_offset_sum->add({g->group, topic}, sums.offset);
        if (sums.has_lag) b_lag_sum->add({g->group, topic}, sums.lag);
      }
    }
  }
}

}  // namespace

std::vector<Family> build_lag_families(const ClusterView& view, const LagFamilyOptions& options,
                                       const LagInsights* insights) {
  FamilySet set;
  add_broker_families(view, set);
  add_topic_families(view, options, set);
  add_group_families(view, options, set);
  if (insights) add_insight_families(view, options, *insights, set);
  return std::move(set).take();
}

}  // namespace khe
