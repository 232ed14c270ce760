#include <map>

#include "khe/config/config.h"

namespace khe {
namespace {

enum class FlagKind { kValue, kRepeated, kSwitch };

struct FlagSpec {
  FlagKind kind;
  const char* help;
};

const std::map<std::string, FlagSpec>& flag_specs() {
  static const std::map<std::string, FlagSpec> specs{
      {"--config", {FlagKind::kValue, "YAML configuration file"}},
      {"--web.listen-address", {FlagKind::kValue, "address to serve on (default :7071)"}},
      {"--web.telemetry-path",
       {FlagKind::kValue, "path of the metrics endpoint (default /metrics)"}},
      {"--kafka.server",
       {FlagKind::kRepeated, "Kafka broker host:port; repeatable; replaces kafka.servers"}},
      {"--zookeeper.server",
       {FlagKind::kRepeated,
        "ZooKeeper server host:port; repeatable; replaces zookeeper.servers and enables the "
        "ZooKeeper collector"}},
      {"--jolokia.url",
       {FlagKind::kRepeated,
        "Jolokia agent URL (http://127.0.0.1:8778/jolokia/ in a sidecar); repeatable; replaces "
        "jmx.targets and enables the JMX bridge"}},
      {"--jmx.config",
       {FlagKind::kValue,
        "jmx_exporter rules file for the JMX bridge; enables it (default target: the local Jolokia "
        "agent)"}},
      {"--jmx.broker",
       {FlagKind::kValue,
        "broker label of the JMX series when there is one Jolokia target (in a sidecar: the "
        "broker's pod name or id)"}},
      {"--log.level", {FlagKind::kValue, "trace, debug, info, warn or error (default info)"}},
      {"--log.format", {FlagKind::kValue, "logfmt or json (default logfmt)"}},
      {"--check-config",
       {FlagKind::kSwitch, "validate the configuration, print it (secrets redacted), exit"}},
      {"--once", {FlagKind::kSwitch, "run one collection, print the exposition to stdout, exit"}},
      {"--version", {FlagKind::kSwitch, "print the version and exit"}},
      {"--help", {FlagKind::kSwitch, "show this help"}},
      {"--internal.kafka-worker",
       {FlagKind::kSwitch, "run as the exporter's Kafka worker process"}},
      {"--internal.probe-worker",
       {FlagKind::kSwitch, "run as the exporter's probe worker process"}},
  };
  return specs;
}

}  // namespace

std::string flags_usage() {
  std::string out = "usage: kafka-hub-exporter [flags]\n\nflags:\n";
  for (const auto& [name, spec] : flag_specs()) {
    if (name.rfind("--internal.", 0) == 0) continue;  // started by the exporter itself
    std::string left = "  " + name + (spec.kind == FlagKind::kSwitch ? "" : "=VALUE");
    left.resize(std::max<std::size_t>(left.size() + 1, 30), ' ');
    out += left + spec.help + "\n";
  }
  return out;
}

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h") arg = "--help";
    std::string name = arg, value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto spec = flag_specs().find(name);
    if (spec == flag_specs().end()) {
      return Error{ErrorKind::kConfig, name, "flag " + name + ": unknown flag (see --help)"};
    }
    if (spec->second.kind == FlagKind::kSwitch) {
      if (has_value) {
        return Error{ErrorKind::kConfig, name, "flag " + name + ": takes no value"};
      }
    } else if (!has_value) {
      if (i + 1 >= args.size()) {
        return Error{ErrorKind::kConfig, name, "flag " + name + ": needs a value"};
      }
      value = args[++i];
    }
    if (name == "--config")
      flags.config_file = value;
    else if (name == "--web.listen-address")
      flags.listen_address = value;
    else if (name == "--web.telemetry-path")
      flags.telemetry_path = value;
    else if (name == "--kafka.server") {
      if (value.find(':') == std::string::npos) {
        return Error{ErrorKind::kConfig, name,
                     "flag --kafka.server: '" + value + "' must be host:port"};
      }
      flags.kafka_servers.push_back(value);
    } else if (name == "--zookeeper.server") {
      if (value.find(':') == std::string::npos) {
        return Error{ErrorKind::kConfig, name,
                     "flag --zookeeper.server: '" + value + "' must be host:port"};
      }
      flags.zookeeper_servers.push_back(value);
    } else if (name == "--jolokia.url") {
      if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) {
        return Error{ErrorKind::kConfig, name,
                     "flag --jolokia.url: '" + value + "' must start with http:// or https://"};
      }
      flags.jolokia_urls.push_back(value);
    } else if (name == "--jmx.config") {
      flags.jmx_rules_file = value;
    } else if (name == "--jmx.broker") {
      if (value.empty())
        return Error{ErrorKind::kConfig, name, "flag --jmx.broker: must not be empty"};
      flags.jmx_broker = value;
    } else if (name == "--log.level")
      flags.log_level = value;
    else if (name == "--log.format")
      flags.log_format = value;
    else if (name == "--check-config")
      flags.check_config = true;
    else if (name == "--once")
      flags.once = true;
    else if (name == "--version")
      flags.version = true;
    else if (name == "--help")
      flags.help = true;
    else if (name == "--internal.kafka-worker")
      flags.kafka_worker = true;
    else if (name == "--internal.probe-worker")
      flags.probe_worker = true;
  }
  return flags;
}

}  // namespace khe
