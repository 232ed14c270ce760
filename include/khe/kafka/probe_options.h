// Settings of the end-to-end probe (the `probe:` section), as validated by the config loader.
// The probe connects with the Kafka collector's connection settings (kafka.servers,
// kafka.properties), so TLS and SASL need no second configuration.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace khe {

struct ProbeOptions {
  std::string topic = "kafka-hub-exporter-probe";
  std::string group = "kafka-hub-exporter-probe";  // the probe's own consumer group
  // One message per partition per interval; also how often the collector publishes.
  std::chrono::milliseconds interval{1000};
  int message_size = 128;    // bytes of each message's value, header included
  std::string acks = "all";  // "all" or "1": what "acknowledged" means
  // Replicas of each partition when the probe creates the topic or adds partitions; 0: the
  // smaller of 3 and the number of brokers.
  int replication_factor = 0;
  int partitions_per_broker = 1;
  bool create_topic = true;     // create the topic when it does not exist
  bool add_partitions = false;  // add partitions so that every broker leads one
  // A produce not acknowledged within this time fails (librdkafka's message.timeout.ms).
  std::chrono::milliseconds produce_timeout{5000};
  // An acknowledged message not received within this time after it was sent is lost.
  std::chrono::milliseconds loss_timeout{30000};
  // Upper bounds (seconds) of the latency histograms' buckets, increasing; +Inf is implied.
  // Fine below 50 ms, where the seed's "p99 under 50 ms" is decided.
  std::vector<double> latency_buckets{0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04,
                                      0.05,  0.075,  0.1,   0.25,   0.5,  1,     2.5,  5,    10};
};

}  // namespace khe
