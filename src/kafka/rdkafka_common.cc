#include "rdkafka_common.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "khe/core/secrets.h"

namespace khe::rdkafka {
namespace {

void log_callback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // librdkafka logs every failed reconnect (facility FAIL, level 3); the collectors already
  // report each failure once with its context, so only critical messages go above debug.
  auto spd_level = level <= 2 ? spdlog::level::err : spdlog::level::debug;
  spdlog::log(spd_level, "librdkafka {}: {}", facility, message);
}

void error_callback(rd_kafka_t*, int err, const char* reason, void*) {
  spdlog::debug("librdkafka error {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                reason);
}

}  // namespace

int to_ms(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<std::int64_t>(d.count(), 1, 3'600'000));
}

std::string reason_name(rd_kafka_resp_err_t err) {
  std::string name = rd_kafka_err2name(err);
  while (!name.empty() && name.front() == '_') name.erase(name.begin());
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string bootstrap_list(const KafkaOptions& options) {
  if (auto it = options.properties.find("bootstrap.servers"); it != options.properties.end()) {
    return it->second;
  }
  std::string list;
  for (const auto& s : options.bootstrap_servers) list += (list.empty() ? "" : ",") + s;
  return list;
}

TopicInfo topic_info(const rd_kafka_metadata_topic_t& t) {
  TopicInfo topic;
  topic.name = t.topic;
  topic.internal = topic.name.rfind("__", 0) == 0;
  for (int j = 0; j < t.partition_cnt; ++j) {
    const auto& p = t.partitions[j];
    PartitionInfo partition;
    partition.partition = p.id;
    partition.leader = p.leader;
    partition.replicas.assign(p.replicas, p.replicas + p.replica_cnt);
    partition.isr.assign(p.isrs, p.isrs + p.isr_cnt);
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) partition.error = reason_name(p.err);
    topic.partitions.push_back(std::move(partition));
  }
  std::sort(
      topic.partitions.begin(), topic.partitions.end(),
      [](const PartitionInfo& a, const PartitionInfo& b) { return a.partition < b.partition; });
  return topic;
}

Result<rd_kafka_conf_t*> make_conf(
    const KafkaOptions& options, const std::vector<std::pair<std::string, std::string>>& defaults) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings{
      {"bootstrap.servers", bootstrap_list(options)},
      {"log.connection.close", "false"},
  };
  settings.insert(settings.end(), defaults.begin(), defaults.end());
  for (const auto& [k, v] : options.properties) settings.emplace_back(k, v);
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // librdkafka quotes the value in its message; never echo a secret.
      std::string message =
          is_secret_key(key) ? "rejected by librdkafka (value not shown)" : std::string(errstr);
      return Error{ErrorKind::kConfig, "kafka.properties." + key,
                   "kafka.properties." + key + ": " + message};
    }
  }
  rd_kafka_conf_set_log_cb(conf, log_callback);
  rd_kafka_conf_set_error_cb(conf, error_callback);
  return conf;
}

}  // namespace khe::rdkafka
