// Settings of the ZooKeeper collector, as validated by the config loader.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace khe {

// Credentials for reading Kafka's registrations (zoo_add_auth). The password is a secret:
// never log or print it.
struct ZookeeperAuth {
  std::string scheme = "digest";
  std::string user;
  std::string password;       // read from password_file
  std::string password_file;  // shown by --check-config instead of the password
};

struct ZookeeperOptions {
  std::vector<std::string> servers;  // host:port of every ensemble member
  // Kafka's zookeeper.connect chroot ("/kafka"), empty for the root.
  std::string chroot;
  bool kafka_registry = true;  // read /brokers/ids, /controller, /controller_epoch
  std::chrono::milliseconds poll_interval{30'000};
  std::chrono::milliseconds poll_timeout{20'000};  // deadline of one collection, < poll_interval
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds read_timeout{5'000};
  std::size_t max_reply_bytes = 4 << 20;
  std::optional<ZookeeperAuth> auth;
};

}  // namespace khe
