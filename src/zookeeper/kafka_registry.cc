// Parsers of Kafka's znodes. simdjson reports errors as codes (no exceptions), which keeps
// malformed znode contents a plain Error.
#include "khe/zookeeper/kafka_registry.h"

#include <simdjson.h>

#include <charconv>

namespace khe {
namespace {

Error bad(std::string message) { return Error{ErrorKind::kProtocol, "", std::move(message)}; }

// "PLAINTEXT://host:9092" or "SASL_SSL://[::1]:9093" -> host, port.
bool split_endpoint(std::string_view endpoint, std::string& host, int& port) {
  auto scheme = endpoint.find("://");
  if (scheme == std::string_view::npos) return false;
  auto address = endpoint.substr(scheme + 3);
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  auto port_text = address.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size()) return false;
  host = std::string(address.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return true;
}

}  // namespace

Result<KafkaBrokerRegistration> parse_broker_registration(int id, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return bad("broker registration is not a JSON object");
  }
  KafkaBrokerRegistration broker;
  broker.id = id;
  std::string_view host;
  int64_t port = -1;
  if (doc["host"].get(host) == simdjson::SUCCESS && !host.empty() &&
      doc["port"].get(port) == simdjson::SUCCESS && port > 0 && port < 65536) {
    broker.host = std::string(host);
    broker.port = static_cast<int>(port);
    return broker;
  }
  // No PLAINTEXT listener: host is null and port -1; the first endpoint says where it listens.
  simdjson::dom::array endpoints;
  if (doc["endpoints"].get(endpoints) == simdjson::SUCCESS) {
    for (auto endpoint : endpoints) {
      std::string_view text;
      if (endpoint.get(text) == simdjson::SUCCESS &&
          split_endpoint(text, broker.host, broker.port)) {
        return broker;
      }
    }
  }
  return bad("broker registration has neither host/port nor a usable endpoint");
}

Result<int> parse_controller(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return bad("not a JSON object");
  }
  int64_t id = 0;
  if (doc["brokerid"].get(id) != simdjson::SUCCESS || id < -1 || id > INT32_MAX) {
    return bad("no integer brokerid");
  }
  return static_cast<int>(id);
}

Result<std::int64_t> parse_controller_epoch(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::int64_t epoch = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), epoch);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return bad("not a number");
  }
  return epoch;
}

}  // namespace khe
