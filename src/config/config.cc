#include "khe/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "khe/core/duration.h"
#include "khe/core/secrets.h"
#include "khe/kafka/probe_message.h"

namespace khe {
namespace {

// Thrown only inside this file and turned into an Error at the boundary: the YAML walk is deep
// and every step can fail, which exceptions express most directly.
struct ConfigFailure {
  int line;
  std::string key;
  std::string reason;
};

int line_of(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

[[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& reason) {
  throw ConfigFailure{line_of(node), key, reason};
}

void expect_map(const YAML::Node& node, const std::string& key,
                const std::set<std::string>& known) {
  if (!node.IsMap()) fail(node, key, "must be a mapping");
  for (const auto& entry : node) {
    auto name = entry.first.as<std::string>();
    if (known.count(name) == 0) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(entry.first, key.empty() ? name : key + "." + name,
           "unknown key (known keys: " + list + ")");
    }
  }
}

std::string scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key, "must be a single value");
  return node.as<std::string>();
}

bool boolean(const YAML::Node& node, const std::string& key) {
  auto text = scalar(node, key);
  if (text == "true") return true;
  if (text == "false") return false;
  fail(node, key, "must be true or false, got '" + text + "'");
}

int integer(const YAML::Node& node, const std::string& key, int min, int max) {
  auto text = scalar(node, key);
  try {
    std::size_t used = 0;
    long value = std::stol(text, &used);
    if (used == text.size() && value >= min && value <= max) return static_cast<int>(value);
  } catch (...) {
  }
  fail(node, key,
       "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
           text + "'");
}

std::chrono::milliseconds duration(const YAML::Node& node, const std::string& key) {
  auto text = scalar(node, key);
  auto d = parse_duration(text);
  if (!d || d->count() <= 0) {
    fail(node, key, "must be a positive duration like 500ms, 30s or 2m, got '" + text + "'");
  }
  return *d;
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) fail(node, key, "must be a list");
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(scalar(item, key));
  return out;
}

NameFilter name_filter(const YAML::Node& node, const std::string& key) {
  expect_map(node, key, {"allow", "deny"});
  std::vector<std::string> allow, deny;
  if (node["allow"]) allow = string_list(node["allow"], key + ".allow");
  if (node["deny"]) deny = string_list(node["deny"], key + ".deny");
  auto filter = NameFilter::create(allow, deny);
  if (!filter) {
    fail(node, key, "pattern '" + filter.error().target + "': " + filter.error().message);
  }
  return filter.value();
}

std::string read_secret_file(const YAML::Node& node, const std::string& key,
                             const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(node, key, "cannot read file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string value = buffer.str();
  // Secret files written by `echo` or Kubernetes often end in a newline that is not part of it.
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

void parse_kafka(const YAML::Node& node, Config& config) {
  expect_map(node, "kafka",
             {"enabled", "cluster_name", "servers", "poll_interval", "poll_timeout", "naming",
              "per_partition_series", "include_internal_topics", "max_concurrent_group_requests",
              "topics", "groups", "properties", "property_files", "lag_seconds", "status"});
  auto& k = config.kafka;
  if (node["enabled"]) {
    config.kafka_enabled = boolean(node["enabled"], "kafka.enabled");
    config.kafka_enabled_set = true;
  }
  if (node["cluster_name"]) {
    k.cluster_name = scalar(node["cluster_name"], "kafka.cluster_name");
    if (k.cluster_name.empty())
      fail(node["cluster_name"], "kafka.cluster_name", "must not be empty");
  }
  if (node["servers"]) {
    k.bootstrap_servers = string_list(node["servers"], "kafka.servers");
    for (const auto& s : k.bootstrap_servers) {
      if (s.find(':') == std::string::npos) {
        fail(node["servers"], "kafka.servers", "'" + s + "' must be host:port");
      }
    }
  }
  if (node["poll_interval"])
    k.poll_interval = duration(node["poll_interval"], "kafka.poll_interval");
  if (node["poll_timeout"])
    k.poll_timeout = duration(node["poll_timeout"], "kafka.poll_timeout");
  else
    k.poll_timeout = std::max(std::chrono::milliseconds(1), k.poll_interval * 2 / 3);
  if (k.poll_timeout >= k.poll_interval) {
    fail(node["poll_timeout"] ? node["poll_timeout"] : node, "kafka.poll_timeout",
         "must be shorter than kafka.poll_interval (" + format_duration(k.poll_interval) + ")");
  }
  if (node["naming"]) {
    auto naming = scalar(node["naming"], "kafka.naming");
    if (naming == "kafka-lag-exporter")
      k.naming = LagNaming::kKafkaLagExporter;
    else if (naming == "kafka_exporter")
      k.naming = LagNaming::kKafkaExporter;
    else if (naming == "both")
      k.naming = LagNaming::kBoth;
    else
      fail(node["naming"], "kafka.naming",
           "must be kafka-lag-exporter, kafka_exporter or both, got '" + naming + "'");
  }
  if (node["per_partition_series"]) {
    k.per_partition_series = boolean(node["per_partition_series"], "kafka.per_partition_series");
  }
  if (node["include_internal_topics"]) {
    k.include_internal_topics =
        boolean(node["include_internal_topics"], "kafka.include_internal_topics");
  }
  if (node["max_concurrent_group_requests"]) {
    k.max_concurrent_group_requests = integer(node["max_concurrent_group_requests"],
                                              "kafka.max_concurrent_group_requests", 1, 1024);
  }
  if (const auto& lag_seconds = node["lag_seconds"]) {
    expect_map(lag_seconds, "kafka.lag_seconds", {"table_size", "record_budget"});
    if (lag_seconds["record_budget"]) {
      k.lag_seconds_record_budget =
          integer(lag_seconds["record_budget"], "kafka.lag_seconds.record_budget", 0, 1'000'000);
    }
    if (lag_seconds["table_size"]) {
      k.lag_seconds_table_size = static_cast<std::size_t>(
          integer(lag_seconds["table_size"], "kafka.lag_seconds.table_size", 2, 10'000));
    }
  }
  if (const auto& status = node["status"]) {
    expect_map(status, "kafka.status", {"window", "allowed_lag"});
    if (status["window"]) {
      k.status_window =
          static_cast<std::size_t>(integer(status["window"], "kafka.status.window", 2, 1000));
    }
    if (status["allowed_lag"]) {
      k.status_allowed_lag = integer(status["allowed_lag"], "kafka.status.allowed_lag", 0,
                                     std::numeric_limits<int>::max());
    }
  }
  if (node["topics"]) k.topic_filter = name_filter(node["topics"], "kafka.topics");
  if (node["groups"]) k.group_filter = name_filter(node["groups"], "kafka.groups");
  if (node["properties"]) {
    const auto& props = node["properties"];
    if (!props.IsMap())
      fail(props, "kafka.properties", "must be a mapping of librdkafka properties");
    for (const auto& entry : props) {
      auto key = entry.first.as<std::string>();
      k.properties[key] = scalar(entry.second, "kafka.properties." + key);
    }
  }
  if (node["property_files"]) {
    const auto& files = node["property_files"];
    if (!files.IsMap()) fail(files, "kafka.property_files", "must be a mapping of property: file");
    for (const auto& entry : files) {
      auto key = entry.first.as<std::string>();
      auto path = scalar(entry.second, "kafka.property_files." + key);
      if (k.properties.count(key)) {
        fail(entry.first, "kafka.property_files." + key,
             "also set in kafka.properties; set it in one place");
      }
      k.properties[key] = read_secret_file(entry.second, "kafka.property_files." + key, path);
      config.kafka_property_files.emplace_back(key, path);
    }
  }
}

// A timeout of one step of a poll: at most the poll's own deadline. Unset, it is the default
// shortened to the poll deadline, so a short poll_interval alone is a valid configuration.
std::chrono::milliseconds step_timeout(const YAML::Node& node, const std::string& key,
                                       std::chrono::milliseconds fallback,
                                       std::chrono::milliseconds poll_timeout) {
  if (!node) return std::min(fallback, poll_timeout);
  auto value = duration(node, key);
  if (value > poll_timeout) {
    auto section = key.substr(0, key.find('.'));
    fail(node, key,
         "must not be longer than " + section + ".poll_timeout (" + format_duration(poll_timeout) +
             ")");
  }
  return value;
}

void parse_zookeeper(const YAML::Node& node, Config& config) {
  expect_map(node, "zookeeper",
             {"enabled", "servers", "chroot", "kafka_registry", "poll_interval", "poll_timeout",
              "connect_timeout", "read_timeout", "max_reply_bytes", "auth"});
  auto& z = config.zookeeper;
  if (node["servers"]) {
    z.servers = string_list(node["servers"], "zookeeper.servers");
    for (const auto& s : z.servers) {
      if (s.find(':') == std::string::npos) {
        fail(node["servers"], "zookeeper.servers", "'" + s + "' must be host:port");
      }
    }
  }
  config.zookeeper_enabled =
      node["enabled"] ? boolean(node["enabled"], "zookeeper.enabled") : !z.servers.empty();
  if (node["chroot"]) {
    z.chroot = scalar(node["chroot"], "zookeeper.chroot");
    if (!z.chroot.empty() && (z.chroot.front() != '/' || z.chroot.back() == '/')) {
      fail(node["chroot"], "zookeeper.chroot",
           "must start with '/' and not end with '/' (like /kafka), got '" + z.chroot + "'");
    }
  }
  if (node["kafka_registry"]) {
    z.kafka_registry = boolean(node["kafka_registry"], "zookeeper.kafka_registry");
  }
  if (node["poll_interval"]) {
    z.poll_interval = duration(node["poll_interval"], "zookeeper.poll_interval");
  }
  if (node["poll_timeout"])
    z.poll_timeout = duration(node["poll_timeout"], "zookeeper.poll_timeout");
  else
    z.poll_timeout = std::max(std::chrono::milliseconds(1), z.poll_interval * 2 / 3);
  if (z.poll_timeout >= z.poll_interval) {
    fail(node["poll_timeout"] ? node["poll_timeout"] : node, "zookeeper.poll_timeout",
         "must be shorter than zookeeper.poll_interval (" + format_duration(z.poll_interval) + ")");
  }
  z.connect_timeout = step_timeout(node["connect_timeout"], "zookeeper.connect_timeout",
                                   ZookeeperOptions{}.connect_timeout, z.poll_timeout);
  z.read_timeout = step_timeout(node["read_timeout"], "zookeeper.read_timeout",
                                ZookeeperOptions{}.read_timeout, z.poll_timeout);
  if (node["max_reply_bytes"]) {
    z.max_reply_bytes = static_cast<std::size_t>(
        integer(node["max_reply_bytes"], "zookeeper.max_reply_bytes", 1024, 1 << 30));
  }
  if (const auto& auth = node["auth"]) {
    expect_map(auth, "zookeeper.auth", {"scheme", "user", "password_file"});
    ZookeeperAuth a;
    if (auth["scheme"]) {
      a.scheme = scalar(auth["scheme"], "zookeeper.auth.scheme");
      if (a.scheme != "digest") {
        fail(auth["scheme"], "zookeeper.auth.scheme", "must be digest, got '" + a.scheme + "'");
      }
    }
    if (!auth["user"]) fail(auth, "zookeeper.auth.user", "is required");
    a.user = scalar(auth["user"], "zookeeper.auth.user");
    if (a.user.empty() || a.user.find(':') != std::string::npos) {
      fail(auth["user"], "zookeeper.auth.user", "must be a non-empty name without ':'");
    }
    if (!auth["password_file"]) fail(auth, "zookeeper.auth.password_file", "is required");
    a.password_file = scalar(auth["password_file"], "zookeeper.auth.password_file");
    a.password =
        read_secret_file(auth["password_file"], "zookeeper.auth.password_file", a.password_file);
    z.auth = std::move(a);
  }
}

bool is_http_url(const std::string& url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) ||
         (url.rfind("https://", 0) == 0 && url.size() > 8);
}

// "http://10.0.0.7:8778/jolokia/" -> "10.0.0.7:8778".
std::string host_port_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find('/', start);
  auto authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  return authority;
}

void parse_jmx_target(const YAML::Node& node, const std::string& key, jmx::JolokiaTarget& t) {
  expect_map(node, key,
             {"url", "broker", "user", "password_file", "ca_file", "insecure_skip_verify"});
  if (!node["url"]) fail(node, key + ".url", "is required");
  t.url = scalar(node["url"], key + ".url");
  if (!is_http_url(t.url))
    fail(node["url"], key + ".url", "must start with http:// or https://, got '" + t.url + "'");
  if (node["broker"]) t.broker = scalar(node["broker"], key + ".broker");
  if (node["user"]) t.user = scalar(node["user"], key + ".user");
  if (node["password_file"]) {
    if (t.user.empty())
      fail(node["password_file"], key + ".password_file", "needs " + key + ".user");
    t.password_file = scalar(node["password_file"], key + ".password_file");
    t.password = read_secret_file(node["password_file"], key + ".password_file", t.password_file);
  }
  if (node["ca_file"]) {
    t.ca_file = scalar(node["ca_file"], key + ".ca_file");
    if (!std::ifstream(t.ca_file))
      fail(node["ca_file"], key + ".ca_file", "cannot read file '" + t.ca_file + "'");
  }
  if (node["insecure_skip_verify"]) {
    t.insecure_skip_verify = boolean(node["insecure_skip_verify"], key + ".insecure_skip_verify");
  }
}

void parse_jmx(const YAML::Node& node, Config& config) {
  expect_map(node, "jmx",
             {"enabled", "targets", "rules_file", "counter_naming", "jvm_metrics", "poll_interval",
              "poll_timeout", "connect_timeout", "read_timeout", "max_reply_bytes"});
  auto& j = config.jmx;
  if (node["rules_file"]) {
    j.rules_file = scalar(node["rules_file"], "jmx.rules_file");
    if (!std::ifstream(j.rules_file)) {
      fail(node["rules_file"], "jmx.rules_file", "cannot read file '" + j.rules_file + "'");
    }
  }
  if (node["counter_naming"]) {
    auto naming = scalar(node["counter_naming"], "jmx.counter_naming");
    if (naming == "0.20")
      j.counter_naming = jmx::CounterNaming::kJmxExporter020;
    else if (naming == "1.x")
      j.counter_naming = jmx::CounterNaming::kJmxExporter1x;
    else
      fail(node["counter_naming"], "jmx.counter_naming",
           "must be 0.20 or 1.x, got '" + naming + "'");
  }
  if (node["jvm_metrics"]) j.jvm_metrics = boolean(node["jvm_metrics"], "jmx.jvm_metrics");
  if (node["poll_interval"]) j.poll_interval = duration(node["poll_interval"], "jmx.poll_interval");
  if (node["poll_timeout"])
    j.poll_timeout = duration(node["poll_timeout"], "jmx.poll_timeout");
  else
    j.poll_timeout = std::max(std::chrono::milliseconds(1), j.poll_interval * 2 / 3);
  if (j.poll_timeout >= j.poll_interval) {
    fail(node["poll_timeout"] ? node["poll_timeout"] : node, "jmx.poll_timeout",
         "must be shorter than jmx.poll_interval (" + format_duration(j.poll_interval) + ")");
  }
  jmx::JolokiaTarget defaults;
  defaults.connect_timeout = step_timeout(node["connect_timeout"], "jmx.connect_timeout",
                                          defaults.connect_timeout, j.poll_timeout);
  defaults.read_timeout =
      step_timeout(node["read_timeout"], "jmx.read_timeout", defaults.read_timeout, j.poll_timeout);
  if (node["max_reply_bytes"]) {
    defaults.max_reply_bytes = static_cast<std::size_t>(
        integer(node["max_reply_bytes"], "jmx.max_reply_bytes", 1024, 1 << 30));
  }
  if (node["targets"]) {
    const auto& targets = node["targets"];
    if (!targets.IsSequence()) fail(targets, "jmx.targets", "must be a list of {url: ...}");
    int index = 0;
    for (const auto& item : targets) {
      jmx::JolokiaTarget t = defaults;
      parse_jmx_target(item, "jmx.targets[" + std::to_string(index++) + "]", t);
      j.targets.push_back(std::move(t));
    }
  }
  // Timeouts and bounds apply to targets given later by --jolokia.url too.
  config.jmx_target_defaults = defaults;
  config.jmx_enabled = node["enabled"] ? boolean(node["enabled"], "jmx.enabled")
                                       : !j.targets.empty() || !j.rules_file.empty();
}

double number(const YAML::Node& node, const std::string& key) {
  auto text = scalar(node, key);
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
    fail(node, key, "must be a number, got '" + text + "'");
  }
  return value;
}

void parse_probe(const YAML::Node& node, Config& config) {
  expect_map(node, "probe",
             {"enabled", "topic", "group", "interval", "message_size", "acks", "replication_factor",
              "partitions_per_broker", "create_topic", "add_partitions", "produce_timeout",
              "loss_timeout", "latency_buckets"});
  auto& p = config.probe;
  if (node["enabled"]) config.probe_enabled = boolean(node["enabled"], "probe.enabled");
  if (node["topic"]) {
    p.topic = scalar(node["topic"], "probe.topic");
    bool legal = !p.topic.empty() && p.topic.size() <= 249 && p.topic != "." && p.topic != "..";
    for (char c : p.topic) {
      legal = legal &&
              (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
    }
    if (!legal) {
      fail(node["topic"], "probe.topic",
           "must be a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -), got '" + p.topic + "'");
    }
  }
  if (node["group"]) {
    p.group = scalar(node["group"], "probe.group");
    if (p.group.empty()) fail(node["group"], "probe.group", "must not be empty");
  }
  if (node["interval"]) {
    p.interval = duration(node["interval"], "probe.interval");
    if (p.interval < std::chrono::milliseconds(100)) {
      fail(node["interval"], "probe.interval", "must be at least 100ms");
    }
  }
  if (node["message_size"]) {
    p.message_size = integer(node["message_size"], "probe.message_size",
                             static_cast<int>(kProbeHeaderBytes), 1'000'000);
  }
  if (node["acks"]) {
    p.acks = scalar(node["acks"], "probe.acks");
    if (p.acks == "-1") p.acks = "all";
    if (p.acks != "all" && p.acks != "1") {
      fail(node["acks"], "probe.acks",
           std::string("must be all or 1 (with 0 nothing is acknowledged, so nothing can be ") +
               "called lost), got '" + p.acks + "'");
    }
  }
  if (node["replication_factor"]) {
    p.replication_factor = integer(node["replication_factor"], "probe.replication_factor", 0, 32);
  }
  if (node["partitions_per_broker"]) {
    p.partitions_per_broker =
        integer(node["partitions_per_broker"], "probe.partitions_per_broker", 1, 100);
  }
  if (node["create_topic"]) p.create_topic = boolean(node["create_topic"], "probe.create_topic");
  if (node["add_partitions"]) {
    p.add_partitions = boolean(node["add_partitions"], "probe.add_partitions");
  }
  if (node["produce_timeout"]) {
    p.produce_timeout = duration(node["produce_timeout"], "probe.produce_timeout");
  }
  if (node["loss_timeout"]) p.loss_timeout = duration(node["loss_timeout"], "probe.loss_timeout");
  if (p.produce_timeout >= p.loss_timeout) {
    const auto& at = node["produce_timeout"] ? node["produce_timeout"]
                     : node["loss_timeout"]  ? node["loss_timeout"]
                                             : node;
    fail(at, "probe.produce_timeout",
         "must be shorter than probe.loss_timeout (" + format_duration(p.loss_timeout) +
             "): a message is only lost once it was acknowledged");
  }
  if (const auto& buckets = node["latency_buckets"]) {
    if (!buckets.IsSequence() || buckets.size() == 0 || buckets.size() > 100) {
      fail(buckets, "probe.latency_buckets", "must be a list of 1 to 100 bucket bounds in seconds");
    }
    p.latency_buckets.clear();
    for (const auto& item : buckets) {
      double bound = number(item, "probe.latency_buckets");
      if (bound <= 0 || (!p.latency_buckets.empty() && bound <= p.latency_buckets.back())) {
        fail(item, "probe.latency_buckets", "bounds must be positive and increasing");
      }
      p.latency_buckets.push_back(bound);
    }
  }
}

void parse_root(const YAML::Node& root, Config& config) {
  if (root.IsNull()) return;
  expect_map(root, "", {"web", "log", "kafka", "zookeeper", "jmx", "probe"});
  if (const auto& web = root["web"]) {
    expect_map(web, "web", {"listen_address", "telemetry_path", "threads"});
    if (web["listen_address"]) {
      config.web.listen_address = scalar(web["listen_address"], "web.listen_address");
    }
    if (web["telemetry_path"]) {
      config.web.telemetry_path = scalar(web["telemetry_path"], "web.telemetry_path");
      if (config.web.telemetry_path.empty() || config.web.telemetry_path.front() != '/') {
        fail(web["telemetry_path"], "web.telemetry_path", "must start with '/'");
      }
    }
    if (web["threads"]) config.web.threads = integer(web["threads"], "web.threads", 1, 256);
  }
  if (const auto& log = root["log"]) {
    expect_map(log, "log", {"level", "format"});
    if (log["level"]) config.log.level = scalar(log["level"], "log.level");
    if (log["format"]) config.log.format = scalar(log["format"], "log.format");
  }
  if (const auto& kafka = root["kafka"]) parse_kafka(kafka, config);
  if (const auto& zookeeper = root["zookeeper"]) parse_zookeeper(zookeeper, config);
  if (const auto& jmx = root["jmx"]) parse_jmx(jmx, config);
  if (const auto& probe = root["probe"]) parse_probe(probe, config);
}

Error config_error(const std::string& file, int line, const std::string& key,
                   const std::string& reason) {
  std::string where = file.empty() ? "<config>" : file;
  if (line > 0) where += ":" + std::to_string(line);
  return Error{ErrorKind::kConfig, file, where + ": " + (key.empty() ? "" : key + ": ") + reason};
}

}  // namespace

Result<Config> parse_config(const std::string& yaml_text, const std::string& file) {
  Config config;
  config.file = file;
  try {
    parse_root(YAML::Load(yaml_text), config);
  } catch (const ConfigFailure& f) {
    return config_error(file, f.line, f.key, f.reason);
  } catch (const YAML::Exception& e) {
    return config_error(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "invalid YAML: " + e.msg);
  }
  return config;
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return config_error(path, 0, "", "cannot read the configuration file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config(buffer.str(), path);
}

std::optional<Error> validate_config(const Config& config) {
  auto bad = [&](const std::string& key, const std::string& reason) {
    return config_error(config.file, 0, key, reason);
  };
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (levels.count(config.log.level) == 0) {
    return bad("log.level",
               "must be one of trace, debug, info, warn, error; got '" + config.log.level + "'");
  }
  if (config.log.format != "logfmt" && config.log.format != "json") {
    return bad("log.format", "must be logfmt or json; got '" + config.log.format + "'");
  }
  if (config.web.telemetry_path.empty() || config.web.telemetry_path.front() != '/') {
    return bad("web.telemetry_path", "must start with '/'");
  }
  if (config.web.telemetry_path == "/healthz" || config.web.telemetry_path == "/readyz" ||
      config.web.telemetry_path == "/") {
    return bad("web.telemetry_path", "'" + config.web.telemetry_path + "' is reserved");
  }
  if (config.kafka_enabled && config.kafka.bootstrap_servers.empty() &&
      config.kafka.properties.count("bootstrap.servers") == 0) {
    return bad("kafka.servers",
               "no Kafka brokers configured (set kafka.servers or --kafka.server, or set "
               "kafka.enabled: false)");
  }
  if (config.probe_enabled && config.kafka.bootstrap_servers.empty() &&
      config.kafka.properties.count("bootstrap.servers") == 0) {
    return bad("probe.enabled",
               "the probe needs Kafka brokers (set kafka.servers or --kafka.server; it uses the "
               "kafka section's connection properties)");
  }
  if (config.zookeeper_enabled && config.zookeeper.servers.empty()) {
    return bad("zookeeper.servers",
               "no ZooKeeper servers configured (set zookeeper.servers or --zookeeper.server, or "
               "set zookeeper.enabled: false)");
  }
  if (config.jmx_enabled) {
    for (std::size_t i = 0; i < config.jmx.targets.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (config.jmx.targets[i].url == config.jmx.targets[j].url) {
          return bad("jmx.targets", "'" + config.jmx.targets[i].url + "' is listed twice");
        }
        if (config.jmx.targets[i].broker == config.jmx.targets[j].broker) {
          return bad("jmx.targets",
                     "two targets have the broker label '" + config.jmx.targets[i].broker + "'");
        }
      }
    }
  }
  return std::nullopt;
}

std::string describe_config(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "web" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "listen_address" << YAML::Value << config.web.listen_address;
  out << YAML::Key << "telemetry_path" << YAML::Value << config.web.telemetry_path;
  out << YAML::Key << "threads" << YAML::Value << config.web.threads;
  out << YAML::EndMap;
  out << YAML::Key << "log" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << config.log.level;
  out << YAML::Key << "format" << YAML::Value << config.log.format;
  out << YAML::EndMap;
  const auto& k = config.kafka;
  out << YAML::Key << "kafka" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << config.kafka_enabled;
  out << YAML::Key << "cluster_name" << YAML::Value << k.cluster_name;
  out << YAML::Key << "servers" << YAML::Value << YAML::Flow << k.bootstrap_servers;
  out << YAML::Key << "poll_interval" << YAML::Value << format_duration(k.poll_interval);
  out << YAML::Key << "poll_timeout" << YAML::Value << format_duration(k.poll_timeout);
  const char* naming = k.naming == LagNaming::kKafkaLagExporter ? "kafka-lag-exporter"
                       : k.naming == LagNaming::kKafkaExporter  ? "kafka_exporter"
                                                                : "both";
  out << YAML::Key << "naming" << YAML::Value << naming;
  out << YAML::Key << "per_partition_series" << YAML::Value << k.per_partition_series;
  out << YAML::Key << "include_internal_topics" << YAML::Value << k.include_internal_topics;
  out << YAML::Key << "lag_seconds" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "table_size" << YAML::Value << k.lag_seconds_table_size;
  out << YAML::Key << "record_budget" << YAML::Value << k.lag_seconds_record_budget;
  out << YAML::EndMap;
  out << YAML::Key << "status" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "window" << YAML::Value << k.status_window;
  out << YAML::Key << "allowed_lag" << YAML::Value << k.status_allowed_lag;
  out << YAML::EndMap;
  out << YAML::Key << "max_concurrent_group_requests" << YAML::Value
      << k.max_concurrent_group_requests;
  out << YAML::Key << "properties" << YAML::Value << YAML::BeginMap;
  std::set<std::string> from_files;
  for (const auto& [key, path] : config.kafka_property_files) from_files.insert(key);
  for (const auto& [key, value] : k.properties) {
    if (from_files.count(key)) continue;
    out << YAML::Key << key << YAML::Value << (is_secret_key(key) ? "<redacted>" : value);
  }
  out << YAML::EndMap;
  out << YAML::Key << "property_files" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, path] : config.kafka_property_files) {
    out << YAML::Key << key << YAML::Value << path;
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
  const auto& p = config.probe;
  out << YAML::Key << "probe" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << config.probe_enabled;
  out << YAML::Key << "topic" << YAML::Value << p.topic;
  out << YAML::Key << "group" << YAML::Value << p.group;
  out << YAML::Key << "interval" << YAML::Value << format_duration(p.interval);
  out << YAML::Key << "message_size" << YAML::Value << p.message_size;
  out << YAML::Key << "acks" << YAML::Value << p.acks;
  out << YAML::Key << "replication_factor" << YAML::Value << p.replication_factor;
  out << YAML::Key << "partitions_per_broker" << YAML::Value << p.partitions_per_broker;
  out << YAML::Key << "create_topic" << YAML::Value << p.create_topic;
  out << YAML::Key << "add_partitions" << YAML::Value << p.add_partitions;
  out << YAML::Key << "produce_timeout" << YAML::Value << format_duration(p.produce_timeout);
  out << YAML::Key << "loss_timeout" << YAML::Value << format_duration(p.loss_timeout);
  out << YAML::Key << "latency_buckets" << YAML::Value << YAML::Flow << p.latency_buckets;
  out << YAML::EndMap;
  const auto& z = config.zookeeper;
  out << YAML::Key << "zookeeper" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << config.zookeeper_enabled;
  out << YAML::Key << "servers" << YAML::Value << YAML::Flow << z.servers;
  out << YAML::Key << "chroot" << YAML::Value << z.chroot;
  out << YAML::Key << "kafka_registry" << YAML::Value << z.kafka_registry;
  out << YAML::Key << "poll_interval" << YAML::Value << format_duration(z.poll_interval);
  out << YAML::Key << "poll_timeout" << YAML::Value << format_duration(z.poll_timeout);
  out << YAML::Key << "connect_timeout" << YAML::Value << format_duration(z.connect_timeout);
  out << YAML::Key << "read_timeout" << YAML::Value << format_duration(z.read_timeout);
  out << YAML::Key << "max_reply_bytes" << YAML::Value << z.max_reply_bytes;
  if (z.auth) {
    // The password itself is never printed; where it comes from is.
    out << YAML::Key << "auth" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "scheme" << YAML::Value << z.auth->scheme;
    out << YAML::Key << "user" << YAML::Value << z.auth->user;
    out << YAML::Key << "password_file" << YAML::Value << z.auth->password_file;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  const auto& j = config.jmx;
  out << YAML::Key << "jmx" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "enabled" << YAML::Value << config.jmx_enabled;
  out << YAML::Key << "rules_file" << YAML::Value << j.rules_file;
  out << YAML::Key << "counter_naming" << YAML::Value
      << (j.counter_naming == jmx::CounterNaming::kJmxExporter1x ? "1.x" : "0.20");
  out << YAML::Key << "jvm_metrics" << YAML::Value << j.jvm_metrics;
  out << YAML::Key << "poll_interval" << YAML::Value << format_duration(j.poll_interval);
  out << YAML::Key << "poll_timeout" << YAML::Value << format_duration(j.poll_timeout);
  out << YAML::Key << "targets" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : j.targets) {
    out << YAML::BeginMap;
    out << YAML::Key << "url" << YAML::Value << t.url;
    out << YAML::Key << "broker" << YAML::Value << t.broker;
    if (!t.user.empty()) {
      // The password itself is never printed; where it comes from is.
      out << YAML::Key << "user" << YAML::Value << t.user;
      out << YAML::Key << "password_file" << YAML::Value << t.password_file;
    }
    if (!t.ca_file.empty()) out << YAML::Key << "ca_file" << YAML::Value << t.ca_file;
    if (t.insecure_skip_verify) out << YAML::Key << "insecure_skip_verify" << YAML::Value << true;
    out << YAML::Key << "connect_timeout" << YAML::Value << format_duration(t.connect_timeout);
    out << YAML::Key << "read_timeout" << YAML::Value << format_duration(t.read_timeout);
    out << YAML::Key << "max_reply_bytes" << YAML::Value << t.max_reply_bytes;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Result<Config> build_config(const Flags& flags) {
  Config config;
  if (flags.config_file) {
    auto loaded = load_config_file(*flags.config_file);
    if (!loaded) return loaded.error();
    config = std::move(loaded).value();
  }
  if (flags.listen_address) config.web.listen_address = *flags.listen_address;
  if (flags.telemetry_path) config.web.telemetry_path = *flags.telemetry_path;
  if (!flags.kafka_servers.empty()) config.kafka.bootstrap_servers = flags.kafka_servers;
  if (!flags.zookeeper_servers.empty()) {
    config.zookeeper.servers = flags.zookeeper_servers;
    config.zookeeper_enabled = true;
  }
  if (!flags.jolokia_urls.empty()) {
    config.jmx.targets.clear();
    for (const auto& url : flags.jolokia_urls) {
      jmx::JolokiaTarget t = config.jmx_target_defaults;
      t.url = url;
      config.jmx.targets.push_back(std::move(t));
    }
    config.jmx_enabled = true;
  }
  if (flags.jmx_rules_file) {
    config.jmx.rules_file = *flags.jmx_rules_file;
    config.jmx_enabled = true;
  }
  if (config.jmx_enabled) {
    // The sidecar's own broker, where the Jolokia agent listens by default.
    if (config.jmx.targets.empty()) config.jmx.targets.push_back(config.jmx_target_defaults);
    if (flags.jmx_broker) {
      if (config.jmx.targets.size() != 1) {
        return Error{ErrorKind::kConfig, "--jmx.broker",
                     "flag --jmx.broker: labels the only JMX target, but there are " +
                         std::to_string(config.jmx.targets.size()) +
                         "; set jmx.targets[].broker instead"};
      }
      config.jmx.targets[0].broker = *flags.jmx_broker;
    }
    // Several targets need a label to tell their series apart: host:port unless given.
    if (config.jmx.targets.size() > 1) {
      for (auto& t : config.jmx.targets) {
        if (t.broker.empty()) t.broker = host_port_of(t.url);
      }
    }
  }
  // Only ZooKeeper or JMX given: the Kafka collector is off unless the file asked for it.
  if ((config.zookeeper_enabled || config.jmx_enabled) && !config.kafka_enabled_set &&
      config.kafka.bootstrap_servers.empty() &&
      config.kafka.properties.count("bootstrap.servers") == 0) {
    config.kafka_enabled = false;
  }
  if (flags.log_level) config.log.level = *flags.log_level;
  if (flags.log_format) config.log.format = *flags.log_format;
  if (auto error = validate_config(config)) return *error;
  return config;
}

}  // namespace khe
