// Parsers for ZooKeeper's four-letter-word replies (`ruok`, `mntr`, `srvr`, `isro`), as sent by
// ZooKeeper 3.8. Pure functions on the raw bytes of one reply: no I/O, no state, thread-safe.
// They are tested on replies captured from a real ensemble (test/data/zookeeper/).
//
// Replies come from the network and are parsed defensively: a reply that is not what the word
// answers is an Error (kind kProtocol), never a crash or a half-trusted value. The size of a
// reply is bounded by the client that read it (FourLetterWordClient), not here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"

namespace khe {

// What a reply is before its content is looked at. ZooKeeper answers several words with the
// same fixed sentences when it cannot or may not answer them.
enum class ReplyKind {
  kContent,         // the word's own answer
  kNotServing,      // "This ZooKeeper instance is not currently serving requests\n": no quorum
  kNotWhitelisted,  // "<word> is not executed because it is not in the whitelist.\n"
  kEmpty,           // connection closed with nothing sent (e.g. an unknown word)
};

ReplyKind classify_reply(std::string_view word, std::string_view reply);

// One `zk_<key>\t<value>` line of mntr. `key` is without the `zk_` prefix, with characters
// outside [A-Za-z0-9_] replaced by '_' so it can become part of a metric name.
struct MntrEntry {
  std::string key;
  std::optional<double> number;  // integers, doubles, 1.0E-4, -1, NaN
  std::string text;              // the raw value, kept for non-numeric keys (version, state)
};

struct MntrStats {
  std::vector<MntrEntry> entries;  // in reply order, every key (unknown keys included)

  const MntrEntry* find(std::string_view key) const;
  std::optional<double> number(std::string_view key) const;
  std::string text(std::string_view key) const;  // empty if absent
};

// Parses a kContent mntr reply. Every line must be `zk_<key>\t<value>` and the reply must end
// with a newline (a reply cut short is rejected rather than read with a truncated last value).
Result<MntrStats> parse_mntr(std::string_view reply);

struct SrvrStats {
  std::string version;  // "3.8.3-<hash>, built on ..."
  std::string mode;     // leader, follower, observer, standalone, read-only
  std::uint64_t zxid = 0;
  double latency_min = 0, latency_avg = 0, latency_max = 0;  // milliseconds
  std::int64_t received = 0, sent = 0, connections = 0, outstanding = 0, node_count = 0;
};

// Parses a kContent srvr reply; `Mode:` is required, the other lines are read when present.
Result<SrvrStats> parse_srvr(std::string_view reply);

// `ruok` answers exactly "imok" (no newline); anything else is an Error. Note that imok only
// says the process runs, not that it is part of a quorum.
std::optional<Error> parse_ruok(std::string_view reply);

// `isro`: "rw" (read-write), "ro" (read-only mode), "null" (not serving: no quorum).
enum class IsroState { kReadWrite, kReadOnly, kNotServing };
Result<IsroState> parse_isro(std::string_view reply);

}  // namespace khe
