// jmx_rules_bench: how fast the rules engine turns leaves into samples, and how much of a big
// broker the read planner leaves out.
//
// Synthesises the MBeans of a broker with 10k partitions (200 topics x 50 partitions: log and
// partition gauges, replica fetcher lag, per-topic meters, request timers, Kafka's own metrics,
// the JVM's beans) as the leaves the Jolokia walker hands over, runs each rules file over all
// of them (FamilyBuilder included, as in a collection) and prints leaves per second of CPU
// time (the thread's own, so that a busy machine does not blur it; best of 5 rounds), and the
// share of leaves the rules' plan() would read at all.
//
//   jmx_rules_bench [RULES.yaml ...]    (default: the oracle suite's Kafka styles)
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "khe/jmx/jmx_rules.h"
#include "khe/jmx/rules_planner.h"

namespace {

using khe::jmx::BeanLeaf;
using khe::jmx::LeafValue;
using khe::jmx::ObjectName;

struct SyntheticLeaf {
  std::size_t bean;
  std::size_t keys;  // index into Broker::keys
  std::string attribute;
  LeafValue::Kind kind;
  double number;
  std::string text;
};

struct Broker {
  std::deque<ObjectName> beans;
  std::vector<std::vector<std::string>> keys{{}};
  std::vector<SyntheticLeaf> leaves;

  std::size_t bean(const std::string& text) {
    beans.push_back(std::move(ObjectName::parse(text)).value());
    return beans.size() - 1;
  }
  void number(std::size_t b, std::string attribute, double v, bool integral = true) {
    char text[32];
    std::snprintf(text, sizeof text, integral ? "%.0f" : "%.1f", v);
    leaves.push_back({b, 0, std::move(attribute), LeafValue::Kind::kNumber, v, text});
  }
  void string(std::size_t b, std::string attribute, std::string v) {
    leaves.push_back({b, 0, std::move(attribute), LeafValue::Kind::kString, 0, std::move(v)});
  }
};

void meter(Broker& broker, std::size_t b, double count) {
  broker.number(b, "Count", count);
  broker.string(b, "EventType", "messages");
  broker.string(b, "RateUnit", "SECONDS");
  for (const char* rate : {"MeanRate", "OneMinuteRate", "FiveMinuteRate", "FifteenMinuteRate"}) {
    broker.number(b, rate, count / 100, false);
  }
}

void timer(Broker& broker, std::size_t b) {
  broker.number(b, "Count", 1000);
  for (const char* a : {"Min", "Max", "Mean", "StdDev", "50thPercentile", "75thPercentile",
                        "95thPercentile", "98thPercentile", "99thPercentile", "999thPercentile"}) {
    broker.number(b, a, 2.5, false);
  }
  broker.string(b, "LatencyUnit", "MILLISECONDS");
}

Broker synthetic_broker() {
  Broker broker;
  const int topics = 200, partitions = 50;
  for (int t = 0; t < topics; ++t) {
    std::string topic = "topic-" + std::to_string(t);
    for (int p = 0; p < partitions; ++p) {
      std::string tp = ",topic=" + topic + ",partition=" + std::to_string(p);
      for (const char* n : {"Size", "LogEndOffset", "LogStartOffset", "NumLogSegments"}) {
        broker.number(broker.bean(std::string("kafka.log:type=Log,name=") + n + tp), "Value",
                      1000 + p);
      }
      for (const char* n : {"UnderReplicated", "InSyncReplicasCount", "ReplicasCount",
                            "UnderMinIsr", "AtMinIsr", "LastStableOffsetLag"}) {
        broker.number(broker.bean(std::string("kafka.cluster:type=Partition,name=") + n + tp),
                      "Value", 0);
      }
      if (p % 3 != 0) {
        broker.number(broker.bean("kafka.server:type=FetcherLagMetrics,name=ConsumerLag,clientId="
                                  "ReplicaFetcherThread-0-" +
                                  std::to_string(p % 2) + tp),
                      "Value", 0);
      }
    }
    for (const char* n :
         {"MessagesInPerSec", "BytesInPerSec", "BytesOutPerSec", "BytesRejectedPerSec",
          "FailedFetchRequestsPerSec", "FailedProduceRequestsPerSec", "TotalFetchRequestsPerSec",
          "TotalProduceRequestsPerSec", "ProduceMessageConversionsPerSec",
          "FetchMessageConversionsPerSec"}) {
      meter(broker,
            broker.bean(std::string("kafka.server:type=BrokerTopicMetrics,name=") + n +
                        ",topic=" + topic),
            t * 10.0);
    }
  }
  for (const char* request :
       {"Produce", "FetchConsumer", "FetchFollower", "Metadata", "OffsetCommit", "OffsetFetch",
        "JoinGroup", "Heartbeat", "SyncGroup", "ListOffsets"}) {
    for (const char* n : {"TotalTimeMs", "RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs",
                          "ResponseQueueTimeMs", "ResponseSendTimeMs"}) {
      timer(broker, broker.bean(std::string("kafka.network:type=RequestMetrics,name=") + n +
                                ",request=" + request));
    }
    meter(
        broker,
        broker.bean(std::string("kafka.network:type=RequestMetrics,name=RequestsPerSec,request=") +
                    request + ",version=9"),
        500);
  }
  for (int processor = 0; processor < 8; ++processor) {
    std::size_t b =
        broker.bean("kafka.server:type=socket-server-metrics,listener=PLAINTEXT,networkProcessor=" +
                    std::to_string(processor));
    for (const char* a :
         {"connection-count", "connection-creation-rate", "connection-creation-total",
          "connection-close-rate", "connection-close-total", "io-wait-ratio", "io-ratio",
          "request-rate", "request-total", "response-rate", "response-total", "select-rate",
          "network-io-rate", "outgoing-byte-rate", "incoming-byte-rate"}) {
      broker.number(b, a, 1.5, false);
    }
  }
  for (const char* n :
       {"UnderReplicatedPartitions", "PartitionCount", "LeaderCount", "OfflineReplicaCount",
        "UnderMinIsrPartitionCount", "AtMinIsrPartitionCount"}) {
    broker.number(broker.bean(std::string("kafka.server:type=ReplicaManager,name=") + n), "Value",
                  3333);
  }
  std::size_t memory = broker.bean("java.lang:type=Memory");
  broker.keys.push_back({"HeapMemoryUsage"});
  for (const char* item : {"committed", "init", "max", "used"}) {
    broker.leaves.push_back({memory, 1, item, LeafValue::Kind::kNumber, 1e9, "1000000000"});
  }
  return broker;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The rules with `cache: true` added to every rule.
std::string with_cache(const std::string& yaml) {
  std::string out;
  std::istringstream in(yaml);
  std::string line;
  while (std::getline(in, line)) {
    out += line + "\n";
    auto dash = line.find("- pattern");
    if (dash != std::string::npos) out += std::string(dash + 2, ' ') + "cache: true\n";
  }
  return out;
}

void run(const std::string& label, const std::string& yaml, const Broker& broker) {
  auto rules = khe::jmx::JmxRules::parse(yaml, label);
  if (!rules) {
    std::printf("%s: %s\n", label.c_str(), rules.error().to_string().c_str());
    return;
  }
  auto leaf = [&](const SyntheticLeaf& l) {
    const ObjectName& b = broker.beans[l.bean];
    return BeanLeaf{b.domain, b.properties, broker.keys[l.keys], l.attribute,
                    LeafValue{l.kind, l.number, l.text}};
  };
  const auto plan = rules->plan();
  const auto coverage = std::move(khe::jmx::PlanCoverage::create(plan)).value();
  std::size_t read = 0;
  for (const auto& l : broker.leaves) {
    const auto& top = broker.keys[l.keys].empty() ? l.attribute : broker.keys[l.keys].front();
    if (coverage.reads(broker.beans[l.bean], top)) ++read;
  }
  auto cpu_seconds = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  };
  double best = 1e30;
  std::size_t samples = 0;
  for (int round = 0; round < 5; ++round) {
    double start = cpu_seconds();
    khe::jmx::FamilyBuilder out;
    for (const auto& l : broker.leaves) rules->apply(leaf(l), out);
    samples = out.sample_count();
    auto families = std::move(out).take();
    best = std::min(best, cpu_seconds() - start);
  }
  std::printf(
      "%-40s %8zu leaves  %7.0f k leaves/s  %6.0f ns/leaf  %7zu samples  plan: %zu reads, %4.1f%% "
      "of leaves\n",
      label.c_str(), broker.leaves.size(), broker.leaves.size() / best / 1e3,
      best / broker.leaves.size() * 1e9, samples, plan.size(), 100.0 * read / broker.leaves.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) files.push_back(argv[i]);
  if (files.empty()) {
    for (const char* name :
         {"kafka-2_0_0-style.yaml", "strimzi-style.yaml", "confluent-style.yaml"}) {
      files.push_back(std::string(KHE_SOURCE_DIR) + "/test/data/jmx/oracle/rules/" + name);
    }
    files.push_back(std::string(KHE_SOURCE_DIR) + "/test/data/jmx/rules/default-naming.yaml");
  }
  Broker broker = synthetic_broker();
  std::printf("synthetic broker: %zu MBeans, %zu leaves (200 topics x 50 partitions), one thread\n",
              broker.beans.size(), broker.leaves.size());
  for (const auto& file : files) {
    std::string yaml = read_file(file);
    std::string name = file.substr(file.find_last_of('/') + 1);
    run(name, yaml, broker);
    run(name + " (cache: true)", with_cache(yaml), broker);
  }
  run("no rules (default rule)", "---\n", broker);
  return 0;
}
