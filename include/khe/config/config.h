// Configuration: a YAML file plus command-line flags in the Prometheus exporter style.
//
// Loading is strict: unknown keys, wrong types and impossible values are errors whose message
// reads `file:line: key: reason`, so a typo fails at startup instead of silently doing nothing.
// Secrets (passwords, keys) may be given inline or read from files; they are never printed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "khe/core/error.h"
#include "khe/jmx/jmx_options.h"
#include "khe/kafka/kafka_options.h"
#include "khe/kafka/probe_options.h"
#include "khe/zookeeper/zookeeper_options.h"

namespace khe {

struct WebOptions {
  std::string listen_address = ":7071";
  std::string telemetry_path = "/metrics";
  int threads = 16;
};

struct LogOptions {
  std::string level = "info";     // trace, debug, info, warn, error
  std::string format = "logfmt";  // logfmt, json
};

struct Config {
  std::string file;  // empty when no --config was given
  WebOptions web;
  LogOptions log;
  bool kafka_enabled = true;
  bool kafka_enabled_set = false;  // kafka.enabled was written in the file
  KafkaOptions kafka;
  // Off unless servers are given (zookeeper.servers or --zookeeper.server) or enabled: true.
  bool zookeeper_enabled = false;
  ZookeeperOptions zookeeper;
  // Off unless Jolokia targets or a rules file are given (jmx.targets, --jolokia.url,
  // --jmx.config) or enabled: true; enabled with no target means the sidecar's own broker.
  bool jmx_enabled = false;
  JmxOptions jmx;
  // The end-to-end probe: opt-in (probe.enabled: true); uses the kafka section's connection.
  bool probe_enabled = false;
  ProbeOptions probe;
  // Timeouts and size bound from the jmx section, for targets given by --jolokia.url.
  jmx::JolokiaTarget jmx_target_defaults;
  // What property_files pointed at, kept to show in --check-config without the contents.
  std::vector<std::pair<std::string, std::string>> kafka_property_files;
};

// Parses YAML text; `file` names it in error messages. Errors have kind kConfig.
Result<Config> parse_config(const std::string& yaml_text, const std::string& file);
Result<Config> load_config_file(const std::string& path);

// Checks what only the whole configuration can tell (after flags were applied).
std::optional<Error> validate_config(const Config& config);

// The effective configuration as YAML, secrets redacted. For --check-config.
std::string describe_config(const Config& config);

struct Flags {
  std::optional<std::string> config_file;
  std::optional<std::string> listen_address;
  std::optional<std::string> telemetry_path;
  std::vector<std::string> kafka_servers;
  std::vector<std::string> zookeeper_servers;  // enables the ZooKeeper collector
  std::vector<std::string> jolokia_urls;       // enables the JMX bridge; replaces jmx.targets
  std::optional<std::string> jmx_rules_file;   // enables the JMX bridge
  std::optional<std::string> jmx_broker;       // broker label of the one JMX target (a sidecar)
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  bool check_config = false;
  bool once = false;
  bool version = false;
  bool help = false;
  bool kafka_worker = false;  // internal: run as the Kafka worker process (kafka_worker.h)
  bool probe_worker = false;  // internal: run as the probe worker process (probe_worker.h)
};

Result<Flags> parse_flags(const std::vector<std::string>& args);
std::string flags_usage();

// Loads the file named by the flags (if any), applies the flags on top, validates.
Result<Config> build_config(const Flags& flags);

}  // namespace khe
