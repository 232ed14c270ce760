// Throughput of the Jolokia bulk-reply walker on a synthetic reply shaped like Jolokia 1.7.2's
// answer for a broker with many partitions (test/data/jmx/jolokia/kafka_patterns.json is the
// real model): per-partition Log and Partition gauges, per-topic BrokerTopicMetrics meters,
// RequestMetrics histograms, Kafka metrics with nulls (NaN), Java's number texts.
//
// Usage: jolokia_walk_bench [partitions=10000] [runs=7]
// Prints the reply size, the best run's MB/s and leaves/s of walk_bulk_reply (parse, validate,
// flatten, one callback per leaf), and simdjson's DOM parse of the same bytes for scale.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "khe/jmx/jolokia_client.h"

namespace {

using khe::jmx::PlannedRead;

constexpr const char* kConfig = R"("config":{"canonicalNaming":false,"ignoreErrors":true})";

std::string element(const std::string& mbean, const std::string& value) {
  return R"({"request":{"mbean":")" + mbean + R"(","type":"read",)" + kConfig + R"(},"value":)" +
         value + R"(,"timestamp":1795983089,"status":200})";
}

std::string make_reply(int partitions, std::vector<PlannedRead>& reads) {
  const int per_topic = 20;
  const int topics = std::max(1, partitions / per_topic);
  std::string log = "{", partition = "{", topic_metrics = "{", requests = "{", socket = "{";
  unsigned seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (int t = 0; t < topics; ++t) {
    const std::string topic = "orders-" + std::to_string(t) + ".events";
    for (int p = 0; p < per_topic; ++p) {
      const std::string where = ",topic=" + topic + ",partition=" + std::to_string(p);
      for (const char* name : {"Size", "NumLogSegments", "LogStartOffset", "LogEndOffset"}) {
        if (log.size() > 1) log += ',';
        log += "\"kafka.log:type=Log,name=" + std::string(name) + where +
               "\":{\"Value\":" + std::to_string(next() % 100000000) + "}";
      }
      for (const char* name : {"UnderReplicated", "UnderMinIsr", "AtMinIsr", "ReplicasCount",
                               "InSyncReplicasCount", "LastStableOffsetLag"}) {
        if (partition.size() > 1) partition += ',';
        partition += "\"kafka.cluster:type=Partition,name=" + std::string(name) + where +
                     "\":{\"Value\":" + std::to_string(next() % 4) + "}";
      }
    }
    for (const char* name :
         {"BytesInPerSec", "BytesOutPerSec", "MessagesInPerSec", "TotalFetchRequestsPerSec",
          "TotalProduceRequestsPerSec", "FailedFetchRequestsPerSec"}) {
      if (topic_metrics.size() > 1) topic_metrics += ',';
      topic_metrics +=
          "\"kafka.server:type=BrokerTopicMetrics,name=" + std::string(name) + ",topic=" + topic +
          R"(":{"RateUnit":"SECONDS","OneMinuteRate":3140.6546389372893,"EventType":"bytes","Count":)" +
          std::to_string(next()) +
          R"(,"FifteenMinuteRate":272.1797065220938,"FiveMinuteRate":786.4498620473638,"MeanRate":2.8777883294979415E-4})";
    }
  }
  for (int r = 0; r < 70; ++r) {
    for (const char* name : {"TotalTimeMs", "RequestQueueTimeMs", "LocalTimeMs", "RemoteTimeMs",
                             "ResponseQueueTimeMs", "ResponseSendTimeMs"}) {
      if (requests.size() > 1) requests += ',';
      requests +=
          "\"kafka.network:type=RequestMetrics,name=" + std::string(name) + ",request=Request" +
          std::to_string(r) +
          R"(":{"Mean":0.5,"StdDev":0.0,"75thPercentile":1.0,"98thPercentile":2.0,"Min":0.0,"95thPercentile":1.0,)"
          R"("99thPercentile":3.0,"Max":17.0,"999thPercentile":17.0,"Count":12345,"50thPercentile":0.0})";
    }
  }
  for (int n = 0; n < 8; ++n) {
    if (socket.size() > 1) socket += ',';
    socket +=
        "\"kafka.server:type=socket-server-metrics,listener=PLAINTEXT,networkProcessor=" +
        std::to_string(n) +
        R"(":{"connection-count":3.0,"io-ratio":7.782999321864516E-4,"reauthentication-latency-avg":null,)"
        R"("reauthentication-latency-max":null,"io-wait-time-ns-total":8.589221235E10,"successful-authentication-total":0.0})";
  }
  for (std::string* s : {&log, &partition, &topic_metrics, &requests, &socket}) *s += '}';
  reads = {{"kafka.log:type=Log,*", {"Value"}},
           {"kafka.cluster:type=Partition,*", {}},
           {"kafka.server:type=BrokerTopicMetrics,*", {}},
           {"kafka.network:type=RequestMetrics,*", {}},
           {"kafka.server:type=socket-server-metrics,*", {}}};
  return "[" + element("kafka.log:type=Log,*", log) + "," +
         element("kafka.cluster:type=Partition,*", partition) + "," +
         element("kafka.server:type=BrokerTopicMetrics,*", topic_metrics) + "," +
         element("kafka.network:type=RequestMetrics,*", requests) + "," +
         element("kafka.server:type=socket-server-metrics,*", socket) + "]";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int partitions = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  std::vector<PlannedRead> reads;
  const std::string reply = make_reply(partitions, reads);
  const double mb = static_cast<double>(reply.size()) / 1e6;

  double best = 1e9;
  std::size_t leaves = 0, beans = 0;
  double sum = 0;  // keeps the callback's work observable
  for (int run = 0; run < runs; ++run) {
    leaves = 0;
    beans = 0;
    const auto start = std::chrono::steady_clock::now();
    auto outcomes = khe::jmx::walk_bulk_reply(
        reply, reads, [&](const khe::jmx::ObjectName&) { return true; },
        [&](const khe::jmx::BeanLeaf& leaf) {
          ++leaves;
          sum += leaf.value.number + static_cast<double>(leaf.attr_name.size());
        });
    best = std::min(best, seconds_since(start));
    if (!outcomes) {
      std::fprintf(stderr, "walk failed: %s\n", outcomes.error().to_string().c_str());
      return 1;
    }
    for (const auto& o : *outcomes) beans += o.beans;
  }
  std::printf("reply: %d partitions, %.1f MB, %zu beans, %zu leaves\n", partitions, mb, beans,
              leaves);
  std::printf("walk_bulk_reply: best of %d %.1f ms, %.0f MB/s, %.2f M leaves/s (checksum %.0f)\n",
              runs, best * 1e3, mb / best, static_cast<double>(leaves) / best / 1e6,
              sum > 0 ? 1.0 : 0.0);

  simdjson::dom::parser parser;
  simdjson::padded_string padded(reply);
  double best_dom = 1e9;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
      std::fprintf(stderr, "simdjson rejected the reply\n");
      return 1;
    }
    best_dom = std::min(best_dom, seconds_since(start));
  }
  std::printf("simdjson DOM parse alone (for scale): %.1f ms, %.0f MB/s\n", best_dom * 1e3,
              mb / best_dom);
  return 0;
}
