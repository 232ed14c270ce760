// ZookeeperCollector: one poll of a ZooKeeper ensemble. Sends ruok, mntr, srvr and isro to every
// configured server at once through a FourLetterWordClient, reads Kafka's registrations through
// a KafkaRegistrySource in parallel, and builds the families (zookeeper_families.h).
//
// A collection always succeeds: a server that does not answer is `zookeeper_up 0` with no mntr
// series, not a failed collection (which would keep serving its last values). Per-server
// failures come back as Collection::errors, so they are counted by kind and logged. Not
// thread-safe; run by one CollectorRunner.
#pragma once

#include <memory>
#include <string>

#include "khe/core/collector.h"
#include "khe/zookeeper/four_letter_word_client.h"
#include "khe/zookeeper/kafka_registry.h"
#include "khe/zookeeper/zookeeper_options.h"

namespace khe {

class ZookeeperCollector final : public Collector {
 public:
  // `registry` may be null (registry reading disabled).
  ZookeeperCollector(ZookeeperOptions options, std::unique_ptr<FourLetterWordClient> client,
                     std::unique_ptr<KafkaRegistrySource> registry);
  // The real thing: Asio client and, if options.kafka_registry, the ZooKeeper C client.
  explicit ZookeeperCollector(ZookeeperOptions options);
  ZookeeperCollector(const ZookeeperCollector&) = delete;
  ZookeeperCollector& operator=(const ZookeeperCollector&) = delete;

  const std::string& name() const override { return name_; }
  std::chrono::milliseconds interval() const override { return options_.poll_interval; }
  std::chrono::milliseconds timeout() const override { return options_.poll_timeout; }
  Result<Collection> collect(std::chrono::steady_clock::time_point deadline) override;

 private:
  std::string name_ = "zookeeper";
  ZookeeperOptions options_;
  std::unique_ptr<FourLetterWordClient> client_;
  std::unique_ptr<KafkaRegistrySource> registry_;
};

}  // namespace khe
