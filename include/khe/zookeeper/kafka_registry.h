// Kafka's registrations in ZooKeeper (ZooKeeper-mode clusters): the live brokers under
// /brokers/ids, the active controller in /controller and its epoch in /controller_epoch.
//
// The pure parsers of the znode contents live here and are unit-tested; KafkaRegistrySource is
// the seam over the ZooKeeper C client (zk_registry_source.cc is the only file that includes
// zookeeper.h). A source is used by one collector thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"
#include "khe/zookeeper/zookeeper_options.h"

namespace khe {

struct KafkaBrokerRegistration {
  int id = -1;
  std::string host;  // "" when the znode names no host
  int port = -1;
};

struct KafkaRegistry {
  std::vector<KafkaBrokerRegistration> brokers;  // sorted by id
  int controller_id = -1;                        // -1: no /controller znode
  std::optional<std::int64_t> controller_epoch;  // absent: no /controller_epoch znode
};

// /brokers/ids/<id>: {"host":"h","port":9092,"endpoints":["PLAINTEXT://h:9092"],...}. When
// host is null (no PLAINTEXT listener) the first endpoint gives host and port.
Result<KafkaBrokerRegistration> parse_broker_registration(int id, std::string_view json);
// /controller: {"version":2,"brokerid":0,"timestamp":"..."}
Result<int> parse_controller(std::string_view json);
// /controller_epoch: a decimal number.
Result<std::int64_t> parse_controller_epoch(std::string_view text);

class KafkaRegistrySource {
 public:
  virtual ~KafkaRegistrySource() = default;
  // Reads the registrations, finished by `deadline`. kConnect/kTimeout/kAuth when no session.
  virtual Result<KafkaRegistry> read(std::chrono::steady_clock::time_point deadline) = 0;
};

// A source on the ZooKeeper C client (multi-threaded variant). It keeps one session across
// polls and opens a new one when the old one expired.
std::unique_ptr<KafkaRegistrySource> make_zookeeper_registry_source(
    const ZookeeperOptions& options);

}  // namespace khe
