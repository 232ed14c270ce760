// Turns one poll of a ZooKeeper ensemble (raw four-letter-word replies per server, plus Kafka's
// registrations) into metric families. Pure and deterministic (servers in configured order,
// mntr keys in reply order of the first server that has them), unit-tested on captured replies.
//
// Naming and types of the mntr series (README "ZooKeeper"): `zk_<key>` becomes
// `zookeeper_<key>`; the type follows mntr_metric_type() below.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"
#include "khe/core/metric_family.h"
#include "khe/zookeeper/four_letter_word_client.h"
#include "khe/zookeeper/four_letter_words.h"
#include "khe/zookeeper/kafka_registry.h"

namespace khe {

// The four-letter words one poll sends to every server (never srst/crst).
const std::vector<std::string>& polled_words();

struct CommandError {
  std::string command;  // the four-letter word
  Error error;
};

// What one poll learned about one server.
struct ServerReport {
  std::string server;
  bool up = false;                // answered at least one word with a reply we understood
  std::optional<bool> serving;    // unknown when neither mntr, srvr nor isro may be asked
  bool ruok = false;              // answered ruok with imok
  std::string state = "unknown";  // leader, follower, observer, standalone, not_serving, unknown
  std::string version = "unknown";
  std::optional<MntrStats> mntr;  // only from a serving server's own mntr reply
  std::optional<SrvrStats> srvr;
  std::vector<CommandError> errors;
  double duration_seconds = 0;  // slowest of its words
};

// Interprets the replies of one server (any order, other servers' replies ignored).
ServerReport interpret_server(const std::string& server,
                              const std::vector<FourLetterWordReply>& replies);

// The rule for an mntr key (without zk_), in this order:
//  1. zk_cnt_X, zk_sum_X (summary count and sum) -> counter;
//  2. zk_avg_X, zk_min_X, zk_max_X, zk_pNN_X (summary statistics) -> gauge;
//  3. known current values (znode_count, watch_count, ephemerals_count, *_file_descriptor_count,
//     connection counts, sizes, uptimes, quorum and follower numbers) -> gauge;
//  4. packets_received, packets_sent, keys ending in _count, and ZooKeeper 3.8's other
//     cumulative counters (stale_requests, response_packet_cache_hits, ...) -> counter;
//  5. anything else -> gauge (a new key is safest as a gauge: rate() on a gauge is wrong
//     but visible, a gauge typed as a counter breaks silently on every reset).
// Counters get the suffix _total.
MetricType mntr_metric_type(std::string_view key);
std::string mntr_metric_name(std::string_view key);

struct ZookeeperFamilyInput {
  std::vector<ServerReport> servers;                // every configured server, in configured order
  const Result<KafkaRegistry>* registry = nullptr;  // nullptr: registry reading disabled
};

std::vector<Family> build_zookeeper_families(const ZookeeperFamilyInput& input);

}  // namespace khe
