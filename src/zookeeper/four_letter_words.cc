#include "khe/zookeeper/four_letter_words.h"

#include <charconv>
#include <system_error>

namespace khe {
namespace {

constexpr std::string_view kNotServingReply =
    "This ZooKeeper instance is not currently serving requests\n";
constexpr std::string_view kNotWhitelistedSuffix =
    " is not executed because it is not in the whitelist.\n";

Error protocol_error(std::string message) {
  return Error{ErrorKind::kProtocol, "", std::move(message)};
}

// Shows a piece of an unexpected reply in an error message without flooding the log or
// passing control characters through.
std::string excerpt(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 40)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 40) out += "...";
  return out;
}

std::optional<double> to_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

template <typename Int>
bool to_integer(std::string_view text, Int& out, int base = 10) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

ReplyKind classify_reply(std::string_view word, std::string_view reply) {
  if (reply.empty()) return ReplyKind::kEmpty;
  if (reply == kNotServingReply) return ReplyKind::kNotServing;
  if (reply.size() == word.size() + kNotWhitelistedSuffix.size() && reply.starts_with(word) &&
      reply.ends_with(kNotWhitelistedSuffix)) {
    return ReplyKind::kNotWhitelisted;
  }
  return ReplyKind::kContent;
}

const MntrEntry* MntrStats::find(std::string_view key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::optional<double> MntrStats::number(std::string_view key) const {
  const auto* e = find(key);
  return e ? e->number : std::nullopt;
}

std::string MntrStats::text(std::string_view key) const {
  const auto* e = find(key);
  return e ? e->text : std::string();
}

Result<MntrStats> parse_mntr(std::string_view reply) {
  if (reply.empty()) return protocol_error("mntr: empty reply");
  if (reply.back() != '\n') {
    return protocol_error("mntr: reply cut short (no final newline)");
  }
  MntrStats stats;
  std::size_t line_number = 0;
  while (!reply.empty()) {
    ++line_number;
    auto eol = reply.find('\n');
    auto line = reply.substr(0, eol);
    reply.remove_prefix(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto tab = line.find('\t');
    if (tab == std::string_view::npos || !line.starts_with("zk_") || tab == 3) {
      return protocol_error("mntr: line " + std::to_string(line_number) +
                            " is not zk_<key><TAB><value>: '" + excerpt(line) + "'");
    }
    MntrEntry entry;
    for (char c : line.substr(3, tab - 3)) entry.key += is_name_char(c) ? c : '_';
    entry.text = std::string(line.substr(tab + 1));
    entry.number = to_number(trim(entry.text));
    stats.entries.push_back(std::move(entry));
  }
  return stats;
}

Result<SrvrStats> parse_srvr(std::string_view reply) {
  if (reply.empty()) return protocol_error("srvr: empty reply");
  SrvrStats stats;
  bool has_mode = false;
  while (!reply.empty()) {
    auto eol = reply.find('\n');
    auto line = reply.substr(0, eol);
    reply.remove_prefix(eol == std::string_view::npos ? reply.size() : eol + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // blank lines and future free text
    auto name = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    bool ok = true;
    if (name == "Zookeeper version") {
      stats.version = std::string(value);
    } else if (name == "Mode") {
      stats.mode = std::string(value);
      has_mode = !value.empty();
    } else if (name == "Zxid") {
      ok = value.starts_with("0x") && to_integer(value.substr(2), stats.zxid, 16);
    } else if (name == "Latency min/avg/max") {
      auto first = value.find('/');
      auto second = first == std::string_view::npos ? first : value.find('/', first + 1);
      std::optional<double> lo, avg, hi;
      if (second != std::string_view::npos) {
        lo = to_number(value.substr(0, first));
        avg = to_number(value.substr(first + 1, second - first - 1));
        hi = to_number(value.substr(second + 1));
      }
      ok = lo && avg && hi;
      if (ok) {
        stats.latency_min = *lo;
        stats.latency_avg = *avg;
        stats.latency_max = *hi;
      }
    } else if (name == "Received") {
      ok = to_integer(value, stats.received);
    } else if (name == "Sent") {
      ok = to_integer(value, stats.sent);
    } else if (name == "Connections") {
      ok = to_integer(value, stats.connections);
    } else if (name == "Outstanding") {
      ok = to_integer(value, stats.outstanding);
    } else if (name == "Node count") {
      ok = to_integer(value, stats.node_count);
    }
    if (!ok) return protocol_error("srvr: bad value in '" + excerpt(line) + "'");
  }
  if (!has_mode) return protocol_error("srvr: no Mode line in the reply");
  return stats;
}

std::optional<Error> parse_ruok(std::string_view reply) {
  if (reply == "imok") return std::nullopt;
  if (reply.empty()) return Error{ErrorKind::kEmptyReply, "", "ruok: empty reply"};
  return protocol_error("ruok: expected 'imok', got '" + excerpt(reply) + "'");
}

Result<IsroState> parse_isro(std::string_view reply) {
  if (reply == "rw") return IsroState::kReadWrite;
  if (reply == "ro") return IsroState::kReadOnly;
  if (reply == "null") return IsroState::kNotServing;
  return protocol_error("isro: expected rw, ro or null, got '" + excerpt(reply) + "'");
}

}  // namespace khe
