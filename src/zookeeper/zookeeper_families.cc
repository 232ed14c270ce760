#include "khe/zookeeper/zookeeper_families.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

namespace khe {
namespace {

// Current values whose names would otherwise match a counter rule (rule 3 of mntr_metric_type).
const std::set<std::string_view>& gauge_keys() {
  static const std::set<std::string_view> keys{"znode_count",
                                               "watch_count",
                                               "ephemerals_count",
                                               "open_file_descriptor_count",
                                               "max_file_descriptor_count",
                                               "num_alive_connections",
                                               "outstanding_requests",
                                               "approximate_data_size",
                                               "last_client_response_size",
                                               "last_proposal_size",
                                               "uptime",
                                               "leader_uptime",
                                               "quorum_size",
                                               "synced_followers",
                                               "synced_non_voting_followers",
                                               "synced_observers",
                                               "pending_syncs",
                                               "learners",
                                               "local_sessions",
                                               "global_sessions",
                                               "connection_drop_probability",
                                               "outstanding_tls_handshake",
                                               "watch_bytes"};
  return keys;
}

// ZooKeeper 3.8's cumulative counters whose names do not end in _count (rule 4).
const std::set<std::string_view>& counter_keys() {
  static const std::set<std::string_view> keys{"packets_received",
                                               "packets_sent",
                                               "outstanding_changes_removed",
                                               "outstanding_changes_queued",
                                               "throttled_ops",
                                               "stale_requests",
                                               "stale_requests_dropped",
                                               "stale_replies",
                                               "stale_sessions_expired",
                                               "large_requests_rejected",
                                               "connection_rejected",
                                               "cnxn_closed_without_zk_server_running",
                                               "sessionless_connections_expired",
                                               "dead_watchers_queued",
                                               "dead_watchers_cleared",
                                               "add_dead_watcher_stall_time",
                                               "response_packet_cache_hits",
                                               "response_packet_cache_misses",
                                               "response_packet_get_children_cache_hits",
                                               "response_packet_get_children_cache_misses",
                                               "requests_not_forwarded_to_commit_processor",
                                               "ensemble_auth_success",
                                               "ensemble_auth_fail",
                                               "ensemble_auth_skip",
                                               "prep_processor_request_queued",
                                               "sync_processor_request_queued",
                                               "request_commit_queued",
                                               "response_bytes",
                                               "quit_leading_due_to_disloyal_voter",
                                               "unsuccessful_handshake",
                                               "tls_handshake_exceeded"};
  return keys;
}

bool summary_statistic(std::string_view key) {
  for (std::string_view prefix : {"avg_", "min_", "max_"}) {
    if (key.starts_with(prefix) && key.size() > prefix.size()) return true;
  }
  if (key.size() > 2 && key[0] == 'p' && std::isdigit(static_cast<unsigned char>(key[1]))) {
    auto underscore = key.find('_');
    return underscore != std::string_view::npos && underscore + 1 < key.size();
  }
  return false;
}

// Names this file publishes itself; an mntr key that maps to one of them is not published.
const std::set<std::string>& reserved_names() {
  static const std::set<std::string> names{"zookeeper_up",
                                           "zookeeper_serving",
                                           "zookeeper_ruok",
                                           "zookeeper_server_info",
                                           "zookeeper_scrape_duration_seconds",
                                           "zookeeper_command_error",
                                           "zookeeper_registry_up",
                                           "zookeeper_ensemble_servers",
                                           "zookeeper_ensemble_servers_up",
                                           "zookeeper_ensemble_servers_serving",
                                           "zookeeper_ensemble_leaders",
                                           "zookeeper_ensemble_quorum_size",
                                           "zookeeper_ensemble_has_quorum",
                                           "zookeeper_ensemble_synced_followers",
                                           "zookeeper_ensemble_expected_followers"};
  return names;
}

bool is_voter_state(const std::string& state) {
  return state == "leader" || state == "follower" || state == "standalone";
}

}  // namespace

const std::vector<std::string>& polled_words() {
  static const std::vector<std::string> words{"ruok", "mntr", "srvr", "isro"};
  return words;
}

MetricType mntr_metric_type(std::string_view key) {
  if (key.starts_with("cnt_") || key.starts_with("sum_")) return MetricType::kCounter;
  if (summary_statistic(key)) return MetricType::kGauge;
  if (gauge_keys().count(key)) return MetricType::kGauge;
  if (counter_keys().count(key) || key.ends_with("_count")) return MetricType::kCounter;
  return MetricType::kGauge;
}

std::string mntr_metric_name(std::string_view key) {
  std::string name = "zookeeper_" + std::string(key);
  if (mntr_metric_type(key) == MetricType::kCounter) name += "_total";
  return name;
}

ServerReport interpret_server(const std::string& server,
                              const std::vector<FourLetterWordReply>& replies) {
  ServerReport report;
  report.server = server;
  bool said_not_serving = false, said_serving = false;
  std::optional<MntrStats> mntr;
  std::optional<SrvrStats> srvr;
  auto add_error = [&](const std::string& word, ErrorKind kind, std::string message) {
    report.errors.push_back({word, Error{kind, server, word + ": " + std::move(message)}});
  };
  for (const auto& r : replies) {
    if (r.server != server) continue;
    report.duration_seconds = std::max(report.duration_seconds, r.elapsed.count());
    if (!r.reply.ok()) {
      report.errors.push_back({r.word, r.reply.error()});
      continue;
    }
    const std::string& text = r.reply.value();
    switch (classify_reply(r.word, text)) {
      case ReplyKind::kEmpty:
        add_error(r.word, ErrorKind::kEmptyReply, "connection closed without a reply");
        continue;
      case ReplyKind::kNotWhitelisted:
        report.up = true;
        add_error(r.word, ErrorKind::kNotWhitelisted, "not in the server's 4lw.commands.whitelist");
        continue;
      case ReplyKind::kNotServing:
        report.up = true;
        said_not_serving = true;
        continue;
      case ReplyKind::kContent:
        break;
    }
    auto protocol = [&](const Error& e) { add_error(r.word, e.kind, e.message); };
    if (r.word == "ruok") {
      if (auto error = parse_ruok(text)) {
        protocol(*error);
      } else {
        report.up = report.ruok = true;
      }
    } else if (r.word == "mntr") {
      auto parsed = parse_mntr(text);
      if (!parsed) {
        protocol(parsed.error());
      } else {
        report.up = said_serving = true;
        mntr = std::move(parsed).value();
      }
    } else if (r.word == "srvr") {
      auto parsed = parse_srvr(text);
      if (!parsed) {
        protocol(parsed.error());
      } else {
        report.up = said_serving = true;
        srvr = std::move(parsed).value();
      }
    } else if (r.word == "isro") {
      auto parsed = parse_isro(text);
      if (!parsed) {
        protocol(parsed.error());
      } else {
        report.up = true;
        (parsed.value() == IsroState::kNotServing ? said_not_serving : said_serving) = true;
      }
    }
  }
  if (mntr && !mntr->text("version").empty())
    report.version = mntr->text("version");
  else if (srvr && !srvr->version.empty())
    report.version = srvr->version;
  // A server that lost its quorum between two words answers one with data and the next with
  // the not-serving sentence: believe the sentence, so it is never counted as a leader.
  if (!report.up) {
    report.serving = false;
  } else if (said_not_serving) {
    report.serving = false;
    report.state = "not_serving";
  } else if (said_serving) {
    report.serving = true;
    report.mntr = std::move(mntr);
    report.srvr = std::move(srvr);
    std::string state = report.mntr ? report.mntr->text("server_state") : "";
    if (state.empty() && report.srvr) state = report.srvr->mode;
    if (!state.empty()) report.state = state;
  }
  return report;
}

std::vector<Family> build_zookeeper_families(const ZookeeperFamilyInput& input) {
  FamilySet set;
  const std::vector<std::string> server_label{"server"};
  auto& up = set.family("zookeeper_up", "1 if the server answered four-letter words",
                        MetricType::kGauge, server_label);
  auto& serving = set.family("zookeeper_serving",
                             "1 if the server serves requests (is part of a quorum or standalone)",
                             MetricType::kGauge, server_label);
  auto& ruok = set.family("zookeeper_ruok", "1 if the server answered ruok with imok",
                          MetricType::kGauge, server_label);
  auto& info =
      set.family("zookeeper_server_info", "state and version of a server that answered, value 1",
                 MetricType::kGauge, {"server", "state", "version"});
  auto& duration = set.family("zookeeper_scrape_duration_seconds",
                              "time to the slowest four-letter-word reply of the server",
                              MetricType::kGauge, server_label);
  auto& command_error = set.family("zookeeper_command_error",
                                   "1 while a four-letter word fails on a server, by error kind",
                                   MetricType::kGauge, {"server", "command", "kind"});
  for (const auto& s : input.servers) {
    up.add({s.server}, s.up ? 1 : 0);
    if (s.serving) serving.add({s.server}, *s.serving ? 1 : 0);
    ruok.add({s.server}, s.ruok ? 1 : 0);
    if (s.up) info.add({s.server, s.state, s.version}, 1);
    duration.add({s.server}, s.duration_seconds);
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& e : s.errors) {
      std::string kind(error_kind_name(e.error.kind));
      if (seen.insert({e.command, kind}).second) command_error.add({s.server, e.command, kind}, 1);
    }
  }

  // srvr: the only word ZooKeeper allows by default, so these are there when mntr is not.
  struct SrvrSeries {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const SrvrStats&);
  };
  static const SrvrSeries srvr_series[] = {
      {"zookeeper_srvr_zxid", "srvr Zxid: last transaction id seen", MetricType::kGauge,
       [](const SrvrStats& s) { return static_cast<double>(s.zxid); }},
      {"zookeeper_srvr_epoch", "srvr Zxid's epoch (its high 32 bits): leader elections so far",
       MetricType::kGauge, [](const SrvrStats& s) { return static_cast<double>(s.zxid >> 32); }},
      {"zookeeper_srvr_latency_min_seconds", "srvr Latency min, in seconds", MetricType::kGauge,
       [](const SrvrStats& s) { return s.latency_min / 1000; }},
      {"zookeeper_srvr_latency_avg_seconds", "srvr Latency avg, in seconds", MetricType::kGauge,
       [](const SrvrStats& s) { return s.latency_avg / 1000; }},
      {"zookeeper_srvr_latency_max_seconds", "srvr Latency max, in seconds", MetricType::kGauge,
       [](const SrvrStats& s) { return s.latency_max / 1000; }},
      {"zookeeper_srvr_received_total", "srvr Received: packets received", MetricType::kCounter,
       [](const SrvrStats& s) { return static_cast<double>(s.received); }},
      {"zookeeper_srvr_sent_total", "srvr Sent: packets sent", MetricType::kCounter,
       [](const SrvrStats& s) { return static_cast<double>(s.sent); }},
      {"zookeeper_srvr_connections", "srvr Connections: open client connections",
       MetricType::kGauge, [](const SrvrStats& s) { return static_cast<double>(s.connections); }},
      {"zookeeper_srvr_outstanding_requests", "srvr Outstanding: queued requests",
       MetricType::kGauge, [](const SrvrStats& s) { return static_cast<double>(s.outstanding); }},
      {"zookeeper_srvr_znodes", "srvr Node count: znodes", MetricType::kGauge,
       [](const SrvrStats& s) { return static_cast<double>(s.node_count); }},
  };
  for (const auto& series : srvr_series) {
    auto& f = set.family(series.name, series.help, series.type, server_label);
    for (const auto& s : input.servers) {
      if (s.srvr) f.add({s.server}, series.value(*s.srvr));
    }
  }

  // mntr: every numeric key of every serving server. Families are created in the order keys
  // are first seen, so the output is stable from poll to poll.
  std::map<std::string, Family*> mntr_families;
  for (const auto& s : input.servers) {
    if (!s.mntr) continue;
    for (const auto& e : s.mntr->entries) {
      if (!e.number) continue;  // version, server_state, peer_state: in server_info or not a number
      auto name = mntr_metric_name(e.key);
      if (reserved_names().count(name) || name.starts_with("zookeeper_srvr_")) continue;
      auto it = mntr_families.find(name);
      if (it == mntr_families.end()) {
        it = mntr_families
                 .emplace(name, &set.family(name, "ZooKeeper mntr zk_" + e.key,
                                            mntr_metric_type(e.key), server_label))
                 .first;
      }
      // A key repeated within one reply would make a duplicate series: keep the first.
      if (!it->second->samples.empty() && it->second->samples.back().label_values[0] == s.server)
        continue;
      it->second->add({s.server}, *e.number);
    }
  }

  // The ensemble as a whole. Only serving servers count: the not-serving sentence is never
  // read as a state, so a server without quorum is never a leader.
  int servers_up = 0, servers_serving = 0, leaders = 0, serving_voters = 0;
  int quorum_size = 0;
  bool standalone = false;
  const ServerReport* leader = nullptr;
  for (const auto& s : input.servers) {
    if (s.up) ++servers_up;
    if (!s.serving.value_or(false)) continue;
    ++servers_serving;
    if (is_voter_state(s.state)) ++serving_voters;
    if (s.state == "leader" || s.state == "standalone") {
      ++leaders;
      leader = &s;
    }
    if (s.state == "standalone") standalone = true;
    if (s.mntr) {
      if (auto q = s.mntr->number("quorum_size"); q && std::isfinite(*q)) {
        quorum_size = std::max(quorum_size, static_cast<int>(*q));
      }
    }
  }
  if (quorum_size <= 0) quorum_size = standalone ? 1 : static_cast<int>(input.servers.size());
  // Without a leader nobody is in sync; a leader whose mntr we may not read leaves it unknown,
  // which is not the same as 0.
  std::optional<double> synced;
  if (leaders == 0) synced = 0;
  if (leaders == 1 && leader->mntr) synced = leader->mntr->number("synced_followers");
  if (leaders == 1 && leader->state == "standalone") synced = 0;
  auto gauge = [&](const char* name, const char* help, double value) {
    set.family(name, help, MetricType::kGauge, {}).add({}, value);
  };
  gauge("zookeeper_ensemble_servers", "configured ZooKeeper servers",
        static_cast<double>(input.servers.size()));
  gauge("zookeeper_ensemble_servers_up", "servers that answered", servers_up);
  gauge("zookeeper_ensemble_servers_serving", "servers serving requests", servers_serving);
  gauge("zookeeper_ensemble_leaders", "serving servers in state leader (or standalone)", leaders);
  gauge("zookeeper_ensemble_quorum_size",
        "voting members (zk_quorum_size, else configured servers)", quorum_size);
  gauge("zookeeper_ensemble_has_quorum",
        "1 if serving voters are a majority of the quorum size and there is one leader",
        serving_voters * 2 > quorum_size && leaders == 1 ? 1 : 0);
  if (synced) {
    gauge("zookeeper_ensemble_synced_followers",
          "followers in sync with the leader (leader's mntr)", *synced);
  }
  gauge("zookeeper_ensemble_expected_followers", "followers a full ensemble has (quorum size - 1)",
        std::max(0, quorum_size - 1));

  if (input.registry) {
    const auto& registry = *input.registry;
    gauge("zookeeper_registry_up", "1 if Kafka's registrations could be read from ZooKeeper",
          registry.ok() ? 1 : 0);
    if (registry.ok()) {
      gauge("kafka_zookeeper_brokers", "brokers registered under /brokers/ids",
            static_cast<double>(registry->brokers.size()));
      auto& broker_info =
          set.family("kafka_zookeeper_broker_info", "one per registered broker, value 1",
                     MetricType::kGauge, {"id", "host", "port"});
      for (const auto& b : registry->brokers) {
        broker_info.add({std::to_string(b.id), b.host, std::to_string(b.port)}, 1);
      }
      gauge("kafka_zookeeper_controller_id", "broker id in /controller, -1 if none",
            registry->controller_id);
      if (registry->controller_epoch) {
        gauge("kafka_zookeeper_controller_epoch", "value of /controller_epoch",
              static_cast<double>(*registry->controller_epoch));
      }
    }
  }

  auto families = std::move(set).take();
  // An empty family renders as HELP/TYPE without samples; leave those out.
  families.erase(std::remove_if(families.begin(), families.end(),
                                [](const Family& f) { return f.samples.empty(); }),
                 families.end());
  return families;
}

}  // namespace khe
