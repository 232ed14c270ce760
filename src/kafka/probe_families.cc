#include "khe/kafka/probe_families.h"

#include <charconv>
#include <map>

namespace khe {
namespace {

std::string broker_label(std::int32_t broker) {
  return broker == kUnknownBroker ? "unknown" : std::to_string(broker);
}

std::string bound_label(double bound) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), bound);
  return std::string(buffer, result.ptr);
}

// Samples of one histogram: `labels` plus le for each bucket, then _sum and _count (le empty,
// which the renderer leaves out).
void add_histogram(Family& family, std::vector<std::string> labels, const LatencyHistogram& h) {
  const auto& bounds = h.bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    auto values = labels;
    values.push_back(i < bounds.size() ? bound_label(bounds[i]) : "+Inf");
    family.add(std::move(values), SampleSuffix::kBucket, static_cast<double>(h.cumulative(i)));
  }
  labels.push_back("");
  family.add(labels, SampleSuffix::kSum, h.sum());
  family.add(std::move(labels), SampleSuffix::kCount, static_cast<double>(h.count()));
}

}  // namespace

std::vector<Family> build_probe_families(const ProbeLedger& ledger, const ProbeTopicState& topic) {
  FamilySet out;
  const std::vector<std::string> route{"partition", "broker"};
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t ProbeCounts::*field;
  };
  const Counter counters[] = {
      {"kafka_probe_messages_produced_total",
       "Probe messages handed to the producer, by partition and the broker that led it",
       &ProbeCounts::produced},
      {"kafka_probe_messages_failed_total",
       "Probe messages the producer could not get acknowledged (or whose verdict was lost with "
       "the probe worker and that never arrived)",
       &ProbeCounts::failed},
      {"kafka_probe_messages_received_total",
       "Probe messages received back within probe.loss_timeout of their send time",
       &ProbeCounts::received},
      {"kafka_probe_messages_lost_total",
       "Acknowledged probe messages not received within probe.loss_timeout of their send time",
       &ProbeCounts::lost},
      {"kafka_probe_messages_late_total",
       "Lost probe messages that arrived after their loss timeout", &ProbeCounts::late},
      {"kafka_probe_messages_duplicated_total", "Probe messages received more than once",
       &ProbeCounts::duplicated},
  };
  for (const auto& c : counters) {
    auto& family = out.family(c.name, c.help, MetricType::kCounter, route);
    for (const auto& [r, counts] : ledger.counts()) {
      family.add({std::to_string(r.partition), broker_label(r.broker)},
                 static_cast<double>(counts.*(c.field)));
    }
  }

  auto& produce = out.family("kafka_probe_produce_latency_seconds",
                             "Time from handing a probe message to the producer to its "
                             "acknowledgement (probe.acks), by partition and leader",
                             MetricType::kHistogram, {"partition", "broker", "le"});
  for (const auto& [r, h] : ledger.produce_latency()) {
    add_histogram(produce, {std::to_string(r.partition), broker_label(r.broker)}, h);
  }
  auto& e2e = out.family("kafka_probe_end_to_end_latency_seconds",
                         "Time from handing a probe message to the producer to the probe's "
                         "consumer receiving it, by partition",
                         MetricType::kHistogram, {"partition", "le"});
  for (const auto& [partition, h] : ledger.end_to_end_latency()) {
    add_histogram(e2e, {std::to_string(partition)}, h);
  }
  auto& commit = out.family("kafka_probe_offset_commit_latency_seconds",
                            "Time the probe's consumer group took to commit its offsets",
                            MetricType::kHistogram, {"le"});
  add_histogram(commit, {}, ledger.commit_latency());
  out.family("kafka_probe_offset_commits_failed_total",
             "Offset commits of the probe's consumer group that failed", MetricType::kCounter, {})
      .add({}, static_cast<double>(ledger.commits_failed()));
  out.family("kafka_probe_messages_in_flight",
             "Probe messages sent and neither received nor settled as failed or lost yet",
             MetricType::kGauge, {})
      .add({}, static_cast<double>(ledger.outstanding()));

  if (topic.known) {
    out.family("kafka_probe_topic_partitions",
               "Partitions of the probe topic (0: it does not exist)", MetricType::kGauge, {})
        .add({}, static_cast<double>(topic.partitions.size()));
    std::map<std::int32_t, int> led;
    for (auto b : topic.brokers) led[b] = 0;
    for (const auto& p : topic.partitions) {
      if (p.leader >= 0) ++led[p.leader];
    }
    auto& leading = out.family("kafka_probe_broker_led_partitions",
                               "Partitions of the probe topic the broker leads now (0: the probe "
                               "does not exercise it)",
                               MetricType::kGauge, {"broker"});
    for (const auto& [broker, n] : led) leading.add({broker_label(broker)}, n);
    out.family("kafka_probe_topic_uncovered_brokers",
               "Brokers that are the preferred leader of no probe partition (see the log for "
               "what to do)",
               MetricType::kGauge, {})
        .add({}, static_cast<double>(topic.uncovered_brokers.size()));
  }
  return std::move(out).take();
}

}  // namespace khe
