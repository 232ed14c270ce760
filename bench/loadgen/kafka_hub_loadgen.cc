// kafka-hub-loadgen: a small, deterministic Kafka workload tool for the
// integration tests, the demo and the benchmarks of kafka-hub-exporter.
//
// The exporter's tests compare /metrics with what Kafka's own tools report, so
// every number this tool causes must be exactly known in advance: messages go
// to explicit partitions (high watermarks are predictable), consumers commit
// exactly the positions they consumed, and commits can be placed on chosen
// partitions without joining a group. Each command ends with one
// `key=value ...` summary line on stdout. Exit status: 0 success, 1 Kafka
// failure (one line on stderr), 2 bad usage.
//
// Nothing waits without a bound: metadata, flush and admin calls get
// --timeout, and commits and consumer closes go through a private queue
// polled against a deadline, because the synchronous forms (rd_kafka_commit,
// rd_kafka_consumer_close) can wait forever for an unreachable coordinator.

// librdkafka's type-check macros use GNU statement expressions, which
// -Wpedantic rejects in C++.
#define LIBRDKAFKA_TYPECHECKS 0
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitKafka = 1;
constexpr int kExitUsage = 2;

constexpr const char* kToolName = "kafka-hub-loadgen";
constexpr double kDefaultTimeoutSeconds = 60.0;
// Creating thousands of partitions is slow on the broker side.
constexpr double kCreateTopicsTimeoutSeconds = 120.0;
// One request per 100 topics keeps a single controller error from failing
// everything while still needing only a handful of round trips.
constexpr std::size_t kCreateTopicsBatchSize = 100;
// A KRaft controller rejects a request that needs more than 10,000 metadata
// records ("excessively large batch operation"); one record per partition
// plus one per topic and config stays well below that.
constexpr std::size_t kCreateTopicsMaxPartitionsPerRequest = 5000;
// Short enough that signals and deadlines are noticed promptly.
constexpr int kPollSliceMs = 100;
constexpr std::chrono::milliseconds kMetadataRetryInterval{250};
// How far a rate-limited loop may fall behind and still catch up. Sleeps on
// a busy 2-core machine overshoot by tens of milliseconds, which must not
// lower the rate; a longer stall (waiting for a partition assignment) must
// not turn into a flood either.
constexpr std::chrono::seconds kRateCatchUp{1};
constexpr int64_t kDefaultCommitEvery = 100;
constexpr int64_t kDefaultConcurrency = 16;
constexpr int64_t kMaxConcurrency = 256;
constexpr int64_t kDefaultMessageSize = 100;

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

void handle_stop_signal(int /*signal*/) { g_stop_requested.store(true); }

// SA_RESETHAND: a second Ctrl-C kills the process even if a wait misbehaves.
void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = handle_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return g_stop_requested.load(); }

// ---------------------------------------------------------------------------
// Errors and output

struct UsageError {
  std::string message_;
};

[[noreturn]] void usage_error(std::string message) { throw UsageError{std::move(message)}; }

std::string g_command_name;

int kafka_failure(const std::string& message) {
  std::fprintf(stderr, "%s: %s: %s\n", kToolName, g_command_name.c_str(), message.c_str());
  return kExitKafka;
}

void warn(const std::string& message) {
  std::fprintf(stderr, "%s: %s: warning: %s\n", kToolName, g_command_name.c_str(), message.c_str());
}

void print_summary(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

std::string format_seconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", seconds);
  return buffer;
}

std::string format_rate(double count, double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f", seconds > 0 ? count / seconds : 0.0);
  return buffer;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

class Deadline {
 public:
  explicit Deadline(double seconds) : end_(Clock::now() + to_duration(seconds)) {}

  bool expired() const { return Clock::now() >= end_; }

  int remaining_ms() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
  }

  int slice_ms() const { return std::min(remaining_ms(), kPollSliceMs); }

 private:
  Clock::time_point end_;
};

// ---------------------------------------------------------------------------
// Ownership of librdkafka objects

template <auto kRelease>
struct Releaser {
  template <typename T>
  void operator()(T* object) const noexcept {
    kRelease(object);
  }
};

// Consumers are always closed explicitly with a deadline first; the implicit
// close in rd_kafka_destroy() has none.
struct HandleReleaser {
  void operator()(rd_kafka_t* handle) const noexcept {
    rd_kafka_destroy_flags(handle, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};

using HandlePtr = std::unique_ptr<rd_kafka_t, HandleReleaser>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, Releaser<rd_kafka_conf_destroy>>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, Releaser<rd_kafka_queue_destroy>>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, Releaser<rd_kafka_topic_destroy>>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, Releaser<rd_kafka_event_destroy>>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, Releaser<rd_kafka_message_destroy>>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, Releaser<rd_kafka_error_destroy>>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, Releaser<rd_kafka_metadata_destroy>>;
using AdminOptionsPtr =
    std::unique_ptr<rd_kafka_AdminOptions_t, Releaser<rd_kafka_AdminOptions_destroy>>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                         Releaser<rd_kafka_topic_partition_list_destroy>>;

// ---------------------------------------------------------------------------
// Command line

struct OptionSpec {
  std::string_view name_;
  bool takes_value_;
  bool repeatable_;
};

constexpr OptionSpec kOptionSpecs[] = {
    {"bootstrap", true, false},
    {"timeout", true, false},
    {"topic", true, true},
    {"prefix", true, false},
    {"count", true, false},
    {"partitions", true, false},
    {"replication", true, false},
    {"config", true, true},
    {"messages", true, false},
    {"per-partition", false, false},
    {"partition", true, true},
    {"size", true, false},
    {"rate", true, false},
    {"duration", true, false},
    {"key-prefix", true, false},
    {"group", true, false},
    {"max-messages", true, false},
    {"commit-every", true, false},
    {"from", true, false},
    {"client-id", true, false},
    {"idle-timeout", true, false},
    {"offset", true, false},
    {"group-prefix", true, false},
    {"groups", true, false},
    {"topic-prefix", true, false},
    {"topics", true, false},
    {"partitions-per-group", true, false},
    {"concurrency", true, false},
};

const OptionSpec* find_option_spec(std::string_view name) {
  for (const auto& spec : kOptionSpecs) {
    if (spec.name_ == name) return &spec;
  }
  return nullptr;
}

using Property = std::pair<std::string, std::string>;

Property split_key_value(std::string_view what, std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    usage_error(std::string(what) + " expects key=value, got '" + std::string(text) + "'");
  }
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

int64_t parse_int(std::string_view option, std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    usage_error("--" + std::string(option) + " expects an integer in [" + std::to_string(min) +
                ", " + std::to_string(max) + "], got '" + std::string(text) + "'");
  }
  return value;
}

// Seconds and rates; the upper bound keeps time-point arithmetic from
// overflowing.
double parse_number(std::string_view option, std::string_view text) {
  constexpr double kMaxNumber = 1e9;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !(value >= 0) ||
      value > kMaxNumber) {
    usage_error("--" + std::string(option) + " expects a number in [0, 1e9], got '" +
                std::string(text) + "'");
  }
  return value;
}

class Options {
 public:
  std::string command_;
  bool help_ = false;
  std::vector<Property> properties_;  // -X, in command-line order

  void add(const OptionSpec& spec, std::string value) {
    auto& values = values_[std::string(spec.name_)];
    if (!values.empty() && !spec.repeatable_) {
      usage_error("--" + std::string(spec.name_) + " given more than once");
    }
    values.push_back(std::move(value));
  }

  bool has(std::string_view name) const { return values_.contains(name); }

  std::vector<std::string_view> given() const {
    std::vector<std::string_view> names;
    for (const auto& [name, values] : values_) names.push_back(name);
    return names;
  }

  std::string get(std::string_view name, std::string fallback = {}) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second.back();
  }

  std::string require(std::string_view name) const {
    if (!has(name)) usage_error("--" + std::string(name) + " is required");
    return get(name);
  }

  int64_t get_int(std::string_view name, int64_t fallback, int64_t min, int64_t max) const {
    return has(name) ? parse_int(name, get(name), min, max) : fallback;
  }

  int64_t require_int(std::string_view name, int64_t min, int64_t max) const {
    return parse_int(name, require(name), min, max);
  }

  double get_number(std::string_view name, double fallback) const {
    return has(name) ? parse_number(name, get(name)) : fallback;
  }

  // Repeated options and comma-separated values both add to the list.
  std::vector<std::string> get_list(std::string_view name) const {
    std::vector<std::string> items;
    const auto it = values_.find(name);
    if (it == values_.end()) return items;
    for (const auto& value : it->second) {
      for (auto& part : split_commas(value)) items.push_back(std::move(part));
    }
    return items;
  }

  std::vector<std::string> get_all(std::string_view name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }

  double timeout_seconds(double fallback) const {
    const double timeout = get_number("timeout", fallback);
    if (timeout <= 0) usage_error("--timeout must be positive");
    return timeout;
  }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

Options parse_command_line(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      options.help_ = true;
      continue;
    }
    if (arg.starts_with("-X")) {
      std::string_view text = arg.substr(2);
      if (text.empty()) {
        if (i + 1 >= argc) usage_error("-X expects key=value");
        text = argv[++i];
      }
      options.properties_.push_back(split_key_value("-X", text));
      continue;
    }
    if (arg.starts_with("--")) {
      std::string_view name = arg.substr(2);
      std::string_view inline_value;
      bool has_inline_value = false;
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline_value = true;
      }
      const OptionSpec* spec = find_option_spec(name);
      if (spec == nullptr) usage_error("unknown option '" + std::string(arg) + "'");
      if (!spec->takes_value_) {
        if (has_inline_value) usage_error("--" + std::string(name) + " takes no value");
        options.add(*spec, "");
        continue;
      }
      if (!has_inline_value) {
        if (i + 1 >= argc) usage_error("--" + std::string(name) + " expects a value");
        inline_value = argv[++i];
      }
      options.add(*spec, std::string(inline_value));
      continue;
    }
    if (arg.size() > 1 && arg.front() == '-') {
      usage_error("unknown option '" + std::string(arg) + "'");
    }
    if (!options.command_.empty()) {
      usage_error("unexpected argument '" + std::string(arg) + "'");
    }
    options.command_ = arg;
  }
  return options;
}

void print_usage(std::FILE* out) {
  std::fprintf(out, "%s",
               R"(Usage: kafka-hub-loadgen --bootstrap HOST:PORT[,HOST:PORT...] [-X key=value ...]
                         COMMAND [options]

Deterministic Kafka workload for kafka-hub-exporter tests, demos and benchmarks.
Ends with one "key=value ..." summary line on stdout.
Exit status: 0 success, 1 Kafka failure (reason on stderr), 2 bad usage.

Options for every command (accepted anywhere on the line):
  --bootstrap SERVERS   bootstrap.servers; optional when -X bootstrap.servers
                        or -X test.mock.num.brokers is given
  -X key=value          any librdkafka property, applied over this tool's
                        defaults (e.g. -X security.protocol=SASL_SSL)
  --timeout SECONDS     bound for each blocking wait (default 60; for
                        create-topics and delete-topics the whole command, 120)
  --help

Commands:
  create-topics (--topic NAME ... | --prefix P --count N)
                [--partitions N (1)] [--replication N (1)] [--config k=v ...]
      Creates topics (P0..P{N-1} with --prefix), one request per 100 topics
      or 5000 partitions, counts existing ones as success, then waits until
      metadata shows every partition with a leader.
      Summary: topics= created= existing= failed= partitions= seconds=

  delete-topics (--topic NAME ... | --prefix P --count N)
      Missing topics count as success; waits until metadata no longer lists
      them. Summary: topics= deleted= missing= failed= seconds=

  produce --topic T [--messages N (0)] [--per-partition] [--partition P[,P..]]
          [--size BYTES (100)] [--rate MSGS_PER_SEC (0 = unlimited)]
          [--duration SECONDS (0)] [--key-prefix STR]
      Round-robins over explicit partitions (all, or those given). With
      --per-partition, N messages go to each partition. Stops after N
      messages, after --duration, or (both 0) on SIGINT/SIGTERM; then waits
      for every delivery. Values start with "<produce time, ms since epoch> <seq> ",
      padded with 'x' to --size (truncated if smaller). --key-prefix gives keys
      STR<seq>; without it messages have no key. acks=all, no idempotence.
      Summary: produced= failed= partitions= seconds= msgs_per_sec=

  consume --group G --topic T [--topic T ...] [--max-messages N (0 = no limit)]
          [--rate MSGS_PER_SEC] [--duration SECONDS] [--commit-every N (100)]
          [--from earliest|latest] [--client-id ID] [--idle-timeout SECONDS]
      Subscribes (topics starting with ^ are regexes), commits the consumed
      positions synchronously every N messages, when partitions are revoked
      and at the end, then leaves the group so it becomes Empty with its
      commits kept. With --max-messages exactly N messages are consumed and
      committed. Stops at N, --duration, --idle-timeout without messages, or
      SIGINT/SIGTERM. --rate throttles polling, so the group visibly lags.
      Eager assignors only (range, roundrobin). Summary: consumed= commits=
      commit_failures= seconds= msgs_per_sec=

  commit --group G --topic T --partition P[,P...] --offset O
      Commits offset O for the given partitions without joining the group
      (the group must have no active members), so a group can have commits
      on only some partitions. Summary: committed= seconds=

  commit-many --group-prefix G --groups N (--topic-prefix P --topics M | --topic T ...)
              [--partitions-per-group K (1)] [--offset O (0)] [--concurrency C (16)]
      Groups G0..G{N-1} each commit offset O on K partitions. With the
      partitions of the topics listed partition-major (T0[0], T1[0], ...,
      T0[1], ...), group i takes entries (i*K + j) mod total for j < K.
      Runs C groups at a time and stops at the first failure.
      Summary: groups= committed= failed= partitions_per_group= seconds=
      groups_per_sec=
)");
}

struct CommandSpec {
  std::string_view name_;
  std::vector<std::string_view> options_;
};

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"create-topics", {"topic", "prefix", "count", "partitions", "replication", "config"}},
      {"delete-topics", {"topic", "prefix", "count"}},
      {"produce",
       {"topic", "messages", "per-partition", "partition", "size", "rate", "duration",
        "key-prefix"}},
      {"consume",
       {"group", "topic", "max-messages", "rate", "duration", "commit-every", "from", "client-id",
        "idle-timeout"}},
      {"commit", {"group", "topic", "partition", "offset"}},
      {"commit-many",
       {"group-prefix", "groups", "topic-prefix", "topics", "topic", "partitions-per-group",
        "offset", "concurrency"}},
  };
  return specs;
}

void check_options_allowed(const Options& options) {
  const auto& specs = command_specs();
  const auto command = std::find_if(
      specs.begin(), specs.end(), [&](const auto& spec) { return spec.name_ == options.command_; });
  if (command == specs.end()) usage_error("unknown command '" + options.command_ + "'");
  for (const auto name : options.given()) {
    if (name == "bootstrap" || name == "timeout") continue;
    if (std::find(command->options_.begin(), command->options_.end(), name) ==
        command->options_.end()) {
      usage_error("--" + std::string(name) + " does not apply to " + options.command_);
    }
  }
}

// ---------------------------------------------------------------------------
// Client setup

// Per-handle state reached from librdkafka callbacks. Callbacks run on the
// thread that polls the handle, and each handle is polled by one thread only.
class ConsumeSession;
struct ClientState {
  uint64_t delivered_ = 0;
  uint64_t delivery_failures_ = 0;
  std::string first_delivery_error_;
  // Errors that no retry will fix; long waits give up when this is set.
  std::string fatal_error_;
  ConsumeSession* session_ = nullptr;
};

void on_error(rd_kafka_t* handle, int code, const char* reason, void* opaque) {
  auto* state = static_cast<ClientState*>(opaque);
  const auto err = static_cast<rd_kafka_resp_err_t>(code);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buffer[512];
    rd_kafka_fatal_error(handle, buffer, sizeof buffer);
    state->fatal_error_ = buffer;
  } else if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    state->fatal_error_ = reason;
  } else if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__RESOLVE) {
    // librdkafka logs connection failures itself; a second line is noise.
  } else {
    warn(reason);
  }
}

void on_delivery(rd_kafka_t* /*handle*/, const rd_kafka_message_t* message, void* opaque) {
  auto* state = static_cast<ClientState*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++state->delivered_;
    return;
  }
  ++state->delivery_failures_;
  if (state->first_delivery_error_.empty()) {
    state->first_delivery_error_ = rd_kafka_err2str(message->err);
  }
}

void set_property(rd_kafka_conf_t* conf, const Property& property) {
  char error[512];
  if (rd_kafka_conf_set(conf, property.first.c_str(), property.second.c_str(), error,
                        sizeof error) != RD_KAFKA_CONF_OK) {
    usage_error(error);
  }
}

// Tool defaults first, then --bootstrap and -X (so the user can override any
// default), then the properties a command cannot work without.
ConfPtr make_conf(const Options& options, const std::vector<Property>& defaults,
                  const std::vector<Property>& forced = {}) {
  bool has_bootstrap = options.has("bootstrap");
  for (const auto& [key, value] : options.properties_) {
    if (key == "bootstrap.servers" || key == "test.mock.num.brokers") {
      has_bootstrap = true;
    }
  }
  if (!has_bootstrap) usage_error("--bootstrap is required");

  ConfPtr conf(rd_kafka_conf_new());
  set_property(conf.get(), {"client.id", kToolName});
  // Idle connections being reaped is not worth a log line per handle.
  set_property(conf.get(), {"log.connection.close", "false"});
  for (const auto& property : defaults) set_property(conf.get(), property);
  if (options.has("bootstrap")) {
    set_property(conf.get(), {"bootstrap.servers", options.get("bootstrap")});
  }
  for (const auto& property : options.properties_) set_property(conf.get(), property);
  for (const auto& property : forced) set_property(conf.get(), property);
  return conf;
}

// Takes ownership of conf. Returns null with *error set on failure.
HandlePtr new_handle(rd_kafka_type_t type, ConfPtr conf, ClientState* state, std::string* error) {
  rd_kafka_conf_set_opaque(conf.get(), state);
  rd_kafka_conf_set_error_cb(conf.get(), on_error);
  char buffer[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), buffer, sizeof buffer);
  if (handle == nullptr) {
    *error = std::string("cannot create client: ") + buffer;
    return nullptr;
  }
  conf.release();  // Owned by the handle now.
  return HandlePtr(handle);
}

// Waits for one event on a private queue. Also serves the main queue when
// asked, so an authentication or fatal error ends the wait early instead of
// running into the deadline.
EventPtr wait_for_event(rd_kafka_t* handle, rd_kafka_queue_t* queue, const ClientState& state,
                        bool serve_main_queue, const Deadline& deadline, std::string* error) {
  for (;;) {
    if (serve_main_queue) rd_kafka_poll(handle, 0);
    if (!state.fatal_error_.empty()) {
      *error = state.fatal_error_;
      return nullptr;
    }
    if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, deadline.slice_ms())) {
      return EventPtr(event);
    }
    if (deadline.expired()) {
      *error = "timed out (see --timeout)";
      return nullptr;
    }
  }
}

MetadataPtr fetch_metadata(rd_kafka_t* handle, rd_kafka_topic_t* only_topic,
                           const Deadline& deadline, std::string* error) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(handle, only_topic == nullptr ? 1 : 0, only_topic, &metadata,
                        std::max(deadline.remaining_ms(), 1));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = std::string("metadata request failed: ") + rd_kafka_err2str(err);
    return nullptr;
  }
  return MetadataPtr(metadata);
}

using TopicIndex = std::unordered_map<std::string_view, const rd_kafka_metadata_topic_t*>;

TopicIndex index_topics(const rd_kafka_metadata_t& metadata) {
  TopicIndex index;
  for (int i = 0; i < metadata.topic_cnt; ++i) {
    index.emplace(metadata.topics[i].topic, &metadata.topics[i]);
  }
  return index;
}

// Why a topic is not yet usable, or empty when every partition has a leader.
std::string topic_problem(const TopicIndex& index, const std::string& name) {
  const auto it = index.find(name);
  if (it == index.end()) return name + ": not in metadata yet";
  const rd_kafka_metadata_topic_t& topic = *it->second;
  if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return name + ": " + rd_kafka_err2str(topic.err);
  }
  if (topic.partition_cnt == 0) return name + ": no partitions yet";
  for (int p = 0; p < topic.partition_cnt; ++p) {
    const rd_kafka_metadata_partition_t& partition = topic.partitions[p];
    // REPLICA_NOT_AVAILABLE only says a follower is down; the leader serves.
    if (partition.leader < 0 || (partition.err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                                 partition.err != RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE)) {
      return name + "[" + std::to_string(partition.id) + "]: no leader (" +
             rd_kafka_err2str(partition.err) + ")";
    }
  }
  return {};
}

void sleep_slice(std::chrono::milliseconds wanted, const Deadline& deadline) {
  std::this_thread::sleep_for(std::min(wanted, std::chrono::milliseconds(deadline.remaining_ms())));
}

// Topic names from --topic, or P0..P{N-1} from --prefix/--count style options.
std::vector<std::string> topic_names(const Options& options, std::string_view prefix_option,
                                     std::string_view count_option) {
  const bool by_name = options.has("topic");
  const bool by_prefix = options.has(prefix_option) || options.has(count_option);
  if (by_name == by_prefix) {
    usage_error("give either --topic or --" + std::string(prefix_option) + " with --" +
                std::string(count_option));
  }
  if (by_name) {
    std::vector<std::string> names = options.get_list("topic");
    if (names.empty()) usage_error("--topic needs a name");
    return names;
  }
  const std::string prefix = options.require(prefix_option);
  const int64_t count = options.require_int(count_option, 1, 1'000'000);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

std::vector<Property> common_admin_defaults(double timeout_seconds) {
  return {{"socket.timeout.ms", std::to_string(std::clamp<int64_t>(
                                    static_cast<int64_t>(timeout_seconds * 1000), 10, 300'000))}};
}

// ---------------------------------------------------------------------------
// create-topics / delete-topics

struct AdminTally {
  std::size_t succeeded_ = 0;
  std::size_t tolerated_ = 0;  // already existed / already gone
  std::size_t failed_ = 0;
  std::string first_error_;

  void fail(std::string message, std::size_t count = 1) {
    failed_ += count;
    if (first_error_.empty()) first_error_ = std::move(message);
  }

  void add(const rd_kafka_topic_result_t* const* results, std::size_t count,
           rd_kafka_resp_err_t tolerated) {
    for (std::size_t i = 0; i < count; ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++succeeded_;
      } else if (err == tolerated) {
        ++tolerated_;
      } else {
        const char* message = rd_kafka_topic_result_error_string(results[i]);
        fail(std::string(rd_kafka_topic_result_name(results[i])) + ": " +
             (message != nullptr ? message : rd_kafka_err2str(err)));
      }
    }
  }
};

AdminOptionsPtr admin_options(rd_kafka_t* handle, rd_kafka_admin_op_t op, const Deadline& deadline,
                              void* opaque) {
  AdminOptionsPtr admin(rd_kafka_AdminOptions_new(handle, op));
  char error[512];
  const int timeout_ms = std::max(deadline.remaining_ms(), 1);
  rd_kafka_AdminOptions_set_request_timeout(admin.get(), timeout_ms, error, sizeof error);
  // Makes the broker answer only once the controller has applied the change.
  rd_kafka_AdminOptions_set_operation_timeout(admin.get(), timeout_ms, error, sizeof error);
  rd_kafka_AdminOptions_set_opaque(admin.get(), opaque);
  return admin;
}

// Collects `requests` admin results from queue; a request-level error fails
// every topic of that batch (the batch size travels in the opaque).
void collect_admin_results(rd_kafka_t* handle, rd_kafka_queue_t* queue, const ClientState& state,
                           std::size_t requests, std::size_t topics, const Deadline& deadline,
                           rd_kafka_resp_err_t tolerated, AdminTally* tally) {
  for (std::size_t done = 0; done < requests; ++done) {
    std::string error;
    EventPtr event = wait_for_event(handle, queue, state, true, deadline, &error);
    if (!event) {
      const std::size_t answered = tally->succeeded_ + tally->tolerated_ + tally->failed_;
      tally->fail("waiting for the admin result: " + error, topics - answered);
      return;
    }
    const auto batch_size = reinterpret_cast<std::uintptr_t>(rd_kafka_event_opaque(event.get()));
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      tally->fail(rd_kafka_event_error_string(event.get()), batch_size);
      continue;
    }
    std::size_t count = 0;
    const rd_kafka_topic_result_t** results = nullptr;
    if (const auto* created = rd_kafka_event_CreateTopics_result(event.get())) {
      results = rd_kafka_CreateTopics_result_topics(created, &count);
    } else if (const auto* deleted = rd_kafka_event_DeleteTopics_result(event.get())) {
      results = rd_kafka_DeleteTopics_result_topics(deleted, &count);
    }
    tally->add(results, count, tolerated);
  }
}

int run_create_topics(const Options& options) {
  const std::vector<std::string> topics = topic_names(options, "prefix", "count");
  const int partitions = static_cast<int>(options.get_int("partitions", 1, 1, 1'000'000));
  const int replication = static_cast<int>(options.get_int("replication", 1, 1, 1'000));
  std::vector<Property> topic_configs;
  for (const auto& text : options.get_all("config")) {
    topic_configs.push_back(split_key_value("--config", text));
  }
  const double timeout = options.timeout_seconds(kCreateTopicsTimeoutSeconds);
  ConfPtr conf = make_conf(options, common_admin_defaults(timeout));

  const auto start = Clock::now();
  const Deadline deadline(timeout);
  ClientState state;
  std::string error;
  HandlePtr handle = new_handle(RD_KAFKA_PRODUCER, std::move(conf), &state, &error);
  if (!handle) return kafka_failure(error);
  QueuePtr queue(rd_kafka_queue_new(handle.get()));

  // All batches are in flight at once; the broker works on them in parallel.
  const std::size_t topics_per_batch = std::clamp<std::size_t>(
      kCreateTopicsMaxPartitionsPerRequest / static_cast<std::size_t>(partitions), 1,
      kCreateTopicsBatchSize);
  std::size_t requests = 0;
  for (std::size_t first = 0; first < topics.size(); first += topics_per_batch) {
    const std::size_t count = std::min(topics_per_batch, topics.size() - first);
    std::vector<rd_kafka_NewTopic_t*> batch;
    for (std::size_t i = first; i < first + count; ++i) {
      char buffer[512];
      rd_kafka_NewTopic_t* topic =
          rd_kafka_NewTopic_new(topics[i].c_str(), partitions, replication, buffer, sizeof buffer);
      if (topic == nullptr) {
        rd_kafka_NewTopic_destroy_array(batch.data(), batch.size());
        usage_error(topics[i] + ": " + buffer);
      }
      batch.push_back(topic);
      for (const auto& [key, value] : topic_configs) {
        rd_kafka_NewTopic_set_config(topic, key.c_str(), value.c_str());
      }
    }
    AdminOptionsPtr admin =
        admin_options(handle.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, deadline,
                      reinterpret_cast<void*>(static_cast<std::uintptr_t>(count)));
    rd_kafka_CreateTopics(handle.get(), batch.data(), batch.size(), admin.get(), queue.get());
    rd_kafka_NewTopic_destroy_array(batch.data(), batch.size());
    ++requests;
  }

  AdminTally tally;
  collect_admin_results(handle.get(), queue.get(), state, requests, topics.size(), deadline,
                        RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, &tally);

  // CreateTopics returns once the controller has the topics; partition
  // leaders reach the brokers' metadata a little later.
  std::size_t total_partitions = 0;
  std::string problem;
  while (tally.failed_ == 0) {
    MetadataPtr metadata = fetch_metadata(handle.get(), nullptr, deadline, &problem);
    if (metadata) {
      const TopicIndex index = index_topics(*metadata);
      problem.clear();
      total_partitions = 0;
      std::size_t not_ready = 0;
      for (const auto& name : topics) {
        std::string topic_issue = topic_problem(index, name);
        if (!topic_issue.empty()) {
          if (problem.empty()) problem = std::move(topic_issue);
          ++not_ready;
        } else {
          total_partitions += static_cast<std::size_t>(index.at(name)->partition_cnt);
        }
      }
      if (not_ready == 0) {
        for (const auto& name : topics) {
          if (index.at(name)->partition_cnt != partitions) {
            warn(name + " already existed with " + std::to_string(index.at(name)->partition_cnt) +
                 " partitions");
          }
        }
        break;
      }
      problem = std::to_string(not_ready) + " of " + std::to_string(topics.size()) +
                " topics not ready, e.g. " + problem;
    }
    if (deadline.expired()) {
      tally.fail("timed out waiting for partition leaders: " + problem);
      break;
    }
    sleep_slice(kMetadataRetryInterval, deadline);
  }

  print_summary(
      "topics=" + std::to_string(topics.size()) + " created=" + std::to_string(tally.succeeded_) +
      " existing=" + std::to_string(tally.tolerated_) + " failed=" + std::to_string(tally.failed_) +
      " partitions=" + std::to_string(total_partitions) +
      " seconds=" + format_seconds(seconds_since(start)));
  if (tally.failed_ > 0) return kafka_failure(tally.first_error_);
  return kExitOk;
}

int run_delete_topics(const Options& options) {
  const std::vector<std::string> topics = topic_names(options, "prefix", "count");
  const double timeout = options.timeout_seconds(kCreateTopicsTimeoutSeconds);
  ConfPtr conf = make_conf(options, common_admin_defaults(timeout));

  const auto start = Clock::now();
  const Deadline deadline(timeout);
  ClientState state;
  std::string error;
  HandlePtr handle = new_handle(RD_KAFKA_PRODUCER, std::move(conf), &state, &error);
  if (!handle) return kafka_failure(error);
  QueuePtr queue(rd_kafka_queue_new(handle.get()));

  std::size_t requests = 0;
  for (std::size_t first = 0; first < topics.size(); first += kCreateTopicsBatchSize) {
    const std::size_t count = std::min(kCreateTopicsBatchSize, topics.size() - first);
    std::vector<rd_kafka_DeleteTopic_t*> batch;
    for (std::size_t i = first; i < first + count; ++i) {
      batch.push_back(rd_kafka_DeleteTopic_new(topics[i].c_str()));
    }
    AdminOptionsPtr admin =
        admin_options(handle.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, deadline,
                      reinterpret_cast<void*>(static_cast<std::uintptr_t>(count)));
    rd_kafka_DeleteTopics(handle.get(), batch.data(), batch.size(), admin.get(), queue.get());
    rd_kafka_DeleteTopic_destroy_array(batch.data(), batch.size());
    ++requests;
  }

  AdminTally tally;
  collect_admin_results(handle.get(), queue.get(), state, requests, topics.size(), deadline,
                        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, &tally);

  // Waiting until metadata forgets the topics lets a test recreate them
  // right away.
  while (tally.failed_ == 0) {
    std::string problem;
    if (MetadataPtr metadata = fetch_metadata(handle.get(), nullptr, deadline, &problem)) {
      const TopicIndex index = index_topics(*metadata);
      const auto lingering = std::count_if(topics.begin(), topics.end(),
                                           [&](const auto& name) { return index.contains(name); });
      if (lingering == 0) break;
      problem = std::to_string(lingering) + " topics still in metadata";
    }
    if (deadline.expired()) {
      tally.fail("timed out waiting for deletion: " + problem);
      break;
    }
    sleep_slice(kMetadataRetryInterval, deadline);
  }

  print_summary(
      "topics=" + std::to_string(topics.size()) + " deleted=" + std::to_string(tally.succeeded_) +
      " missing=" + std::to_string(tally.tolerated_) + " failed=" + std::to_string(tally.failed_) +
      " seconds=" + format_seconds(seconds_since(start)));
  if (tally.failed_ > 0) return kafka_failure(tally.first_error_);
  return kExitOk;
}

// ---------------------------------------------------------------------------
// produce

// Spaces events 1/rate apart on average, forgiving at most kRateCatchUp of
// lateness.
class RateLimiter {
 public:
  explicit RateLimiter(double per_second)
      : unlimited_(per_second <= 0),
        interval_(unlimited_ ? Clock::duration::zero() : to_duration(1.0 / per_second)),
        next_(Clock::now()) {}

  Clock::duration wait_time(Clock::time_point now) const {
    if (unlimited_ || next_ <= now) return Clock::duration::zero();
    return next_ - now;
  }

  void record(Clock::time_point now) {
    if (!unlimited_) next_ = std::max(next_, now - kRateCatchUp) + interval_;
  }

 private:
  bool unlimited_;
  Clock::duration interval_;
  Clock::time_point next_;
};

int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes "<ms since epoch> <seq> " over the start of the value; the rest stays
// filler, so payloads are identical apart from the header.
class PayloadWriter {
 public:
  explicit PayloadWriter(std::size_t size) : value_(size, 'x') {}

  const std::string& next(uint64_t sequence) {
    // Room for two 20-digit numbers even if to_chars used its whole window.
    char header[64];
    char* pos = std::to_chars(header, header + 24, unix_millis()).ptr;
    *pos++ = ' ';
    pos = std::to_chars(pos, pos + 24, sequence).ptr;
    *pos++ = ' ';
    const std::size_t length = std::min<std::size_t>(pos - header, value_.size());
    std::memcpy(value_.data(), header, length);
    if (previous_length_ > length) {
      std::memset(value_.data() + length, 'x', previous_length_ - length);
    }
    previous_length_ = length;
    return value_;
  }

 private:
  std::string value_;
  std::size_t previous_length_ = 0;
};

int run_produce(const Options& options) {
  const std::string topic_name = options.require("topic");
  const int64_t messages = options.get_int("messages", 0, 0, INT64_MAX / 1'000'000);
  const bool per_partition = options.has("per-partition");
  const int64_t size = options.get_int("size", kDefaultMessageSize, 0, 100'000'000);
  const double rate = options.get_number("rate", 0);
  const double duration = options.get_number("duration", 0);
  const bool keyed = options.has("key-prefix");
  const std::string key_prefix = options.get("key-prefix");
  const double timeout = options.timeout_seconds(kDefaultTimeoutSeconds);
  std::vector<int32_t> chosen_partitions;
  for (const auto& text : options.get_list("partition")) {
    chosen_partitions.push_back(static_cast<int32_t>(parse_int("partition", text, 0, INT32_MAX)));
  }
  if (per_partition && messages == 0) {
    usage_error("--per-partition needs --messages N");
  }
  const auto timeout_ms =
      std::to_string(std::clamp<int64_t>(static_cast<int64_t>(timeout * 1000), 1, INT32_MAX));
  ConfPtr conf =
      make_conf(options, {
                             {"acks", "all"},
                             {"enable.idempotence", "false"},
                             {"linger.ms", "5"},
                             // Partition counts must come from topics the tests created.
                             {"allow.auto.create.topics", "false"},
                             // Undeliverable messages must fail within --timeout, not 5 minutes.
                             {"message.timeout.ms", timeout_ms},
                         });
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);

  ClientState state;
  std::string error;
  HandlePtr handle = new_handle(RD_KAFKA_PRODUCER, std::move(conf), &state, &error);
  if (!handle) return kafka_failure(error);
  TopicPtr topic(rd_kafka_topic_new(handle.get(), topic_name.c_str(), nullptr));

  // Explicit partition numbers are what make per-partition watermarks exact.
  int32_t partition_count = 0;
  {
    const Deadline deadline(timeout);
    std::string problem;
    for (;;) {
      std::string fetch_error;
      if (MetadataPtr metadata =
              fetch_metadata(handle.get(), topic.get(), deadline, &fetch_error)) {
        const rd_kafka_metadata_topic_t& info = metadata->topics[0];
        if (info.err == RD_KAFKA_RESP_ERR_NO_ERROR && info.partition_cnt > 0) {
          partition_count = info.partition_cnt;
          break;
        }
        problem = rd_kafka_err2str(info.err);
      } else if (problem.empty()) {
        problem = fetch_error;
      }
      if (deadline.expired() || stop_requested()) {
        return kafka_failure("no metadata for topic " + topic_name + ": " + problem);
      }
      sleep_slice(kMetadataRetryInterval, deadline);
    }
  }
  if (chosen_partitions.empty()) {
    for (int32_t p = 0; p < partition_count; ++p) chosen_partitions.push_back(p);
  }
  for (const int32_t p : chosen_partitions) {
    if (p >= partition_count) {
      usage_error("--partition " + std::to_string(p) + " but " + topic_name + " has " +
                  std::to_string(partition_count) + " partitions");
    }
  }

  const auto partitions_used = static_cast<uint64_t>(chosen_partitions.size());
  const uint64_t total = per_partition ? static_cast<uint64_t>(messages) * partitions_used
                                       : static_cast<uint64_t>(messages);
  const auto start = Clock::now();
  const auto end = start + to_duration(duration);
  RateLimiter limiter(rate);
  PayloadWriter payload(static_cast<std::size_t>(size));
  std::string key = key_prefix;
  uint64_t sent = 0;
  std::string produce_error;

  while (!stop_requested() && state.fatal_error_.empty()) {
    if (total > 0 && sent >= total) break;
    auto now = Clock::now();
    if (duration > 0 && now >= end) break;
    if (const auto wait = limiter.wait_time(now); wait > Clock::duration::zero()) {
      rd_kafka_poll(handle.get(), 0);
      std::this_thread::sleep_for(
          std::min<Clock::duration>(wait, std::chrono::milliseconds(kPollSliceMs)));
      continue;
    }
    const int32_t partition = chosen_partitions[sent % partitions_used];
    const std::string& value = payload.next(sent);
    if (keyed) {
      char digits[24];
      const auto digits_end = std::to_chars(digits, digits + sizeof digits, sent).ptr;
      key.resize(key_prefix.size());
      key.append(digits, digits_end);
    }
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        handle.get(), RD_KAFKA_V_RKT(topic.get()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY(keyed ? key.data() : nullptr, keyed ? key.size() : 0), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(handle.get(), 10);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Errors at enqueue time (message too large, unknown partition) repeat
      // for every message, so stop rather than fail them one by one.
      produce_error = std::string("cannot enqueue message: ") + rd_kafka_err2str(err);
      break;
    }
    ++sent;
    limiter.record(now);
    if ((sent & 0xff) == 0) rd_kafka_poll(handle.get(), 0);
  }

  const rd_kafka_resp_err_t flush_err =
      rd_kafka_flush(handle.get(), Deadline(timeout).remaining_ms());
  if (flush_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Purge so that destroying the handle does not wait for the stragglers;
    // their delivery reports then count them as failed.
    rd_kafka_purge(handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(handle.get(), 0);
  }
  const double seconds = seconds_since(start);
  const uint64_t unaccounted = sent - state.delivered_ - state.delivery_failures_;
  const uint64_t failed = state.delivery_failures_ + unaccounted;
  print_summary(
      "produced=" + std::to_string(state.delivered_) + " failed=" + std::to_string(failed) +
      " partitions=" + std::to_string(partitions_used) + " seconds=" + format_seconds(seconds) +
      " msgs_per_sec=" + format_rate(static_cast<double>(state.delivered_), seconds));
  if (!state.fatal_error_.empty()) return kafka_failure(state.fatal_error_);
  if (!produce_error.empty()) return kafka_failure(produce_error);
  if (failed > 0) {
    return kafka_failure(std::to_string(failed) + " of " + std::to_string(sent) +
                         " messages not delivered: " +
                         (state.first_delivery_error_.empty() ? std::string("flush timed out")
                                                              : state.first_delivery_error_));
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// Offset commits

// rd_kafka_commit() waits without limit for a coordinator; committing through
// a private queue lets the wait end at the deadline.
bool commit_offsets(rd_kafka_t* handle, const rd_kafka_topic_partition_list_t* offsets,
                    const ClientState& state, bool serve_main_queue, const Deadline& deadline,
                    std::string* error) {
  QueuePtr queue(rd_kafka_queue_new(handle));
  const rd_kafka_resp_err_t err =
      rd_kafka_commit_queue(handle, offsets, queue.get(), nullptr, nullptr);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = rd_kafka_err2str(err);
    return false;
  }
  EventPtr event = wait_for_event(handle, queue.get(), state, serve_main_queue, deadline, error);
  if (!event) {
    *error = "offset commit: " + *error;
    return false;
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    *error = std::string("offset commit: ") + rd_kafka_event_error_string(event.get());
    return false;
  }
  if (const auto* result = rd_kafka_event_topic_partition_list(event.get())) {
    for (int i = 0; i < result->cnt; ++i) {
      const rd_kafka_topic_partition_t& entry = result->elems[i];
      if (entry.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *error = "offset commit: " + std::string(entry.topic) + "[" +
                 std::to_string(entry.partition) + "]: " + rd_kafka_err2str(entry.err);
        return false;
      }
    }
  }
  return true;
}

// Defined with ConsumeSession; a null session just gives the partitions up.
void handle_rebalance(rd_kafka_t* handle, ConsumeSession* session, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* partitions);

// Close with a deadline: rd_kafka_consumer_close() has none. The final
// revoke arrives here as an event and must be answered, or the close never
// completes; `session` handles it when the consumer was subscribed.
bool close_consumer(rd_kafka_t* handle, ConsumeSession* session, double timeout_seconds) {
  const Deadline deadline(timeout_seconds);
  QueuePtr queue(rd_kafka_queue_new(handle));
  if (ErrorPtr error{rd_kafka_consumer_close_queue(handle, queue.get())}) {
    warn(std::string("consumer close: ") + rd_kafka_error_string(error.get()));
    return false;
  }
  while (!rd_kafka_consumer_closed(handle)) {
    if (deadline.expired()) {
      warn("consumer close timed out; the broker drops the member after session.timeout.ms");
      return false;
    }
    EventPtr event(rd_kafka_queue_poll(queue.get(), deadline.slice_ms()));
    if (event && rd_kafka_event_type(event.get()) == RD_KAFKA_EVENT_REBALANCE) {
      handle_rebalance(handle, session, rd_kafka_event_error(event.get()),
                       rd_kafka_event_topic_partition_list(event.get()));
    }
  }
  return true;
}

PartitionListPtr single_offset_list(const std::vector<std::pair<std::string, int32_t>>& partitions,
                                    int64_t offset) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [topic, partition] : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  }
  return list;
}

// Commits offsets for one group from a consumer that never joins it, which is
// how a group gets commits on only some partitions.
bool commit_without_joining(const rd_kafka_conf_t* base_conf, const std::string& group,
                            const rd_kafka_topic_partition_list_t* offsets, double timeout_seconds,
                            std::string* error) {
  ConfPtr conf(rd_kafka_conf_dup(base_conf));
  char buffer[512];
  if (rd_kafka_conf_set(conf.get(), "group.id", group.c_str(), buffer, sizeof buffer) !=
      RD_KAFKA_CONF_OK) {
    *error = buffer;
    return false;
  }
  ClientState state;
  HandlePtr handle = new_handle(RD_KAFKA_CONSUMER, std::move(conf), &state, error);
  if (!handle) return false;
  const bool committed =
      commit_offsets(handle.get(), offsets, state, true, Deadline(timeout_seconds), error);
  close_consumer(handle.get(), nullptr, timeout_seconds);
  return committed;
}

std::vector<Property> commit_only_consumer_defaults(double timeout_seconds) {
  return {{"enable.auto.commit", "false"},
          {"enable.partition.eof", "false"},
          // A handle that never joins has no session to keep, but a commit
          // still waiting for a coordinator holds up rd_kafka_destroy() for
          // session.timeout.ms: keep that within --timeout.
          {"session.timeout.ms", std::to_string(std::clamp<int64_t>(
                                     static_cast<int64_t>(timeout_seconds * 1000), 1, 3'600'000))}};
}

int run_commit(const Options& options) {
  const std::string group = options.require("group");
  const std::string topic = options.require("topic");
  const int64_t offset = options.require_int("offset", 0, INT64_MAX);
  const double timeout = options.timeout_seconds(kDefaultTimeoutSeconds);
  if (!options.has("partition")) usage_error("--partition is required");
  std::vector<std::pair<std::string, int32_t>> partitions;
  for (const auto& text : options.get_list("partition")) {
    partitions.emplace_back(topic,
                            static_cast<int32_t>(parse_int("partition", text, 0, INT32_MAX)));
  }
  if (options.get_list("topic").size() != 1) usage_error("commit takes one --topic");
  ConfPtr base = make_conf(options, commit_only_consumer_defaults(timeout), {{"group.id", group}});

  const auto start = Clock::now();
  PartitionListPtr offsets = single_offset_list(partitions, offset);
  std::string error;
  const bool ok = commit_without_joining(base.get(), group, offsets.get(), timeout, &error);
  print_summary("committed=" + std::to_string(ok ? partitions.size() : 0) +
                " seconds=" + format_seconds(seconds_since(start)));
  return ok ? kExitOk : kafka_failure(group + ": " + error);
}

int run_commit_many(const Options& options) {
  const std::string group_prefix = options.require("group-prefix");
  const int64_t groups = options.require_int("groups", 1, 10'000'000);
  const std::vector<std::string> topics = topic_names(options, "topic-prefix", "topics");
  const int64_t per_group = options.get_int("partitions-per-group", 1, 1, 1'000'000);
  const int64_t offset = options.get_int("offset", 0, 0, INT64_MAX);
  const int64_t concurrency =
      options.get_int("concurrency", kDefaultConcurrency, 1, kMaxConcurrency);
  const double timeout = options.timeout_seconds(kDefaultTimeoutSeconds);
  ConfPtr base = make_conf(options, commit_only_consumer_defaults(timeout));
  ConfPtr metadata_conf = make_conf(options, {});

  const auto start = Clock::now();
  // Partition counts come from the cluster so the spread is right for any
  // topic layout.
  std::vector<std::pair<std::string, int32_t>> entries;
  {
    ClientState state;
    std::string error;
    HandlePtr handle = new_handle(RD_KAFKA_PRODUCER, std::move(metadata_conf), &state, &error);
    if (!handle) return kafka_failure(error);
    const Deadline deadline(timeout);
    std::vector<int> counts;
    std::string problem;
    for (;;) {
      std::string fetch_error;
      if (MetadataPtr metadata = fetch_metadata(handle.get(), nullptr, deadline, &fetch_error)) {
        const TopicIndex index = index_topics(*metadata);
        counts.clear();
        for (const auto& name : topics) {
          const auto it = index.find(name);
          if (it == index.end() || it->second->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
              it->second->partition_cnt == 0) {
            problem = name + ": not found";
            break;
          }
          counts.push_back(it->second->partition_cnt);
        }
        if (counts.size() == topics.size()) break;
      } else if (problem.empty()) {
        problem = fetch_error;
      }
      if (deadline.expired() || stop_requested()) return kafka_failure(problem);
      sleep_slice(kMetadataRetryInterval, deadline);
    }
    // Partition-major order spreads consecutive groups over all topics.
    const int most = *std::max_element(counts.begin(), counts.end());
    for (int p = 0; p < most; ++p) {
      for (std::size_t t = 0; t < topics.size(); ++t) {
        if (p < counts[t]) entries.emplace_back(topics[t], p);
      }
    }
  }
  const auto per_group_count =
      static_cast<std::size_t>(std::min<int64_t>(per_group, static_cast<int64_t>(entries.size())));
  if (per_group_count < static_cast<std::size_t>(per_group)) {
    warn("only " + std::to_string(entries.size()) +
         " partitions exist; each group commits all of them");
  }

  std::atomic<int64_t> next_group{0};
  std::atomic<int64_t> committed{0};
  std::atomic<int64_t> failed{0};
  std::atomic<bool> give_up{false};
  std::mutex error_mutex;
  std::string first_error;  // Guarded by error_mutex.

  auto worker = [&] {
    for (;;) {
      const int64_t index = next_group.fetch_add(1);
      if (index >= groups || give_up.load() || stop_requested()) return;
      std::vector<std::pair<std::string, int32_t>> chosen;
      for (std::size_t j = 0; j < per_group_count; ++j) {
        chosen.push_back(
            entries[(static_cast<std::size_t>(index) * per_group_count + j) % entries.size()]);
      }
      const std::string group = group_prefix + std::to_string(index);
      PartitionListPtr offsets = single_offset_list(chosen, offset);
      std::string error;
      if (commit_without_joining(base.get(), group, offsets.get(), timeout, &error)) {
        ++committed;
        continue;
      }
      ++failed;
      // Later groups would most likely fail the same way; stop early.
      give_up.store(true);
      const std::lock_guard lock(error_mutex);
      if (first_error.empty()) first_error = group + ": " + error;
    }
  };
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < std::min(concurrency, groups); ++i) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();

  const double seconds = seconds_since(start);
  print_summary("groups=" + std::to_string(groups) + " committed=" +
                std::to_string(committed.load()) + " failed=" + std::to_string(failed.load()) +
                " partitions_per_group=" + std::to_string(per_group_count) +
                " seconds=" + format_seconds(seconds) +
                " groups_per_sec=" + format_rate(static_cast<double>(committed.load()), seconds));
  if (!first_error.empty()) return kafka_failure(first_error);
  if (committed.load() < groups) return kafka_failure("interrupted");
  return kExitOk;
}

// ---------------------------------------------------------------------------
// consume

// Next offset to commit per partition, for partitions this member owns.
class OffsetTracker {
 public:
  void record(std::string_view topic, int32_t partition, int64_t offset) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.emplace(std::string(topic), Partitions{}).first;
    it->second[partition] = Entry{offset + 1, true};
  }

  // Uncommitted positions, limited to `only` when given.
  PartitionListPtr dirty(const rd_kafka_topic_partition_list_t* only) const {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(8));
    for (const auto& [topic, partitions] : topics_) {
      for (const auto& [partition, entry] : partitions) {
        if (!entry.dirty_) continue;
        if (only != nullptr &&
            rd_kafka_topic_partition_list_find(only, topic.c_str(), partition) == nullptr) {
          continue;
        }
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
            entry.next_offset_;
      }
    }
    return list;
  }

  void mark_committed(const rd_kafka_topic_partition_list_t& list) {
    for (int i = 0; i < list.cnt; ++i) {
      const auto topic = topics_.find(std::string_view(list.elems[i].topic));
      if (topic == topics_.end()) continue;
      const auto entry = topic->second.find(list.elems[i].partition);
      if (entry != topic->second.end() && entry->second.next_offset_ == list.elems[i].offset) {
        entry->second.dirty_ = false;
      }
    }
  }

  // After a revoke the next owner's progress is none of our business.
  void forget(const rd_kafka_topic_partition_list_t& list) {
    for (int i = 0; i < list.cnt; ++i) {
      const auto topic = topics_.find(std::string_view(list.elems[i].topic));
      if (topic != topics_.end()) topic->second.erase(list.elems[i].partition);
    }
  }

 private:
  struct Entry {
    int64_t next_offset_;
    bool dirty_;
  };
  using Partitions = std::map<int32_t, Entry>;
  std::map<std::string, Partitions, std::less<>> topics_;
};

// A subscribed consumer that commits exactly the positions it consumed.
// Single-threaded: the rebalance callback runs inside its own polls.
class ConsumeSession {
 public:
  ConsumeSession(rd_kafka_t* handle, ClientState* state, double timeout_seconds)
      : handle_(handle), state_(state), timeout_seconds_(timeout_seconds) {}

  ConsumeSession(const ConsumeSession&) = delete;
  ConsumeSession& operator=(const ConsumeSession&) = delete;

  OffsetTracker& tracker() { return tracker_; }
  uint64_t commits() const { return commits_; }
  uint64_t commit_failures() const { return commit_failures_; }
  const std::string& last_commit_error() const { return last_commit_error_; }

  void stop_committing() { committing_ = false; }

  bool commit(const rd_kafka_topic_partition_list_t* only) {
    PartitionListPtr list = tracker_.dirty(only);
    if (list->cnt == 0) return true;
    std::string error;
    if (!commit_offsets(handle_, list.get(), *state_, false, Deadline(timeout_seconds_), &error)) {
      ++commit_failures_;
      last_commit_error_ = error;
      warn(error);
      return false;
    }
    ++commits_;
    tracker_.mark_committed(*list);
    return true;
  }

  // Eager protocol only (see run_consume).
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions) {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      check(rd_kafka_assign(handle_, partitions));
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      // Commit while we still own the partitions, so the next owner starts
      // exactly after what we consumed. A lost assignment cannot commit.
      if (committing_ && !rd_kafka_assignment_lost(handle_)) commit(partitions);
      tracker_.forget(*partitions);
    } else {
      warn(std::string("rebalance failed: ") + rd_kafka_err2str(err));
    }
    check(rd_kafka_assign(handle_, nullptr));
  }

 private:
  static void check(rd_kafka_resp_err_t err) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) warn(std::string("assign: ") + rd_kafka_err2str(err));
  }

  rd_kafka_t* handle_;
  ClientState* state_;
  double timeout_seconds_;
  OffsetTracker tracker_;
  bool committing_ = true;
  uint64_t commits_ = 0;
  uint64_t commit_failures_ = 0;
  std::string last_commit_error_;
};

void handle_rebalance(rd_kafka_t* handle, ConsumeSession* session, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* partitions) {
  if (session != nullptr) {
    session->on_rebalance(err, partitions);
  } else {
    rd_kafka_assign(handle, nullptr);
  }
}

void on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  handle_rebalance(handle, static_cast<ClientState*>(opaque)->session_, err, partitions);
}

int run_consume(const Options& options) {
  const std::string group = options.require("group");
  const std::vector<std::string> topics = options.get_list("topic");
  if (topics.empty()) usage_error("--topic is required");
  const int64_t max_messages = options.get_int("max-messages", 0, 0, INT64_MAX);
  const double rate = options.get_number("rate", 0);
  const double duration = options.get_number("duration", 0);
  const double idle_timeout = options.get_number("idle-timeout", 0);
  const int64_t commit_every = options.get_int("commit-every", kDefaultCommitEvery, 1, INT64_MAX);
  const std::string from = options.get("from", "earliest");
  if (from != "earliest" && from != "latest") {
    usage_error("--from expects earliest or latest, got '" + from + "'");
  }
  const double timeout = options.timeout_seconds(kDefaultTimeoutSeconds);
  for (const auto& [key, value] : options.properties_) {
    // With librdkafka 2.0.2, commits during a cooperative rebalance fail
    // with ILLEGAL_GENERATION and the partitions move on uncommitted, so
    // the next owner consumes them again: no exact commit totals.
    if (key == "partition.assignment.strategy" && value.find("cooperative") != std::string::npos) {
      usage_error("consume supports only eager assignors (range, roundrobin)");
    }
  }
  std::vector<Property> forced = {{"group.id", group}, {"enable.auto.commit", "false"}};
  if (options.has("client-id")) forced.emplace_back("client.id", options.get("client-id"));
  ConfPtr conf =
      make_conf(options, {{"auto.offset.reset", from}, {"enable.partition.eof", "false"}}, forced);
  rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);

  ClientState state;
  std::string error;
  HandlePtr handle = new_handle(RD_KAFKA_CONSUMER, std::move(conf), &state, &error);
  if (!handle) return kafka_failure(error);
  ConsumeSession session(handle.get(), &state, timeout);
  state.session_ = &session;
  // Errors and logs then arrive through rd_kafka_consumer_poll().
  rd_kafka_poll_set_consumer(handle.get());

  {
    PartitionListPtr subscription(
        rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& topic : topics) {
      rd_kafka_topic_partition_list_add(subscription.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(handle.get(), subscription.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      close_consumer(handle.get(), &session, timeout);
      return kafka_failure(std::string("subscribe: ") + rd_kafka_err2str(err));
    }
  }

  const auto start = Clock::now();
  const auto end = start + to_duration(duration);
  auto last_message = start;
  RateLimiter limiter(rate);
  uint64_t consumed = 0;
  rd_kafka_resp_err_t last_warned = RD_KAFKA_RESP_ERR_NO_ERROR;

  while (!stop_requested() && state.fatal_error_.empty()) {
    if (max_messages > 0 && consumed >= static_cast<uint64_t>(max_messages)) break;
    const auto now = Clock::now();
    if (duration > 0 && now >= end) break;
    if (idle_timeout > 0 && now - last_message >= to_duration(idle_timeout)) break;
    if (const auto wait = limiter.wait_time(now); wait > Clock::duration::zero()) {
      // Not polling while throttled is what makes this consumer lag: the
      // fetcher's prefetch is bounded, commits only follow what we took.
      std::this_thread::sleep_for(
          std::min<Clock::duration>(wait, std::chrono::milliseconds(kPollSliceMs)));
      continue;
    }
    MessagePtr message(rd_kafka_consumer_poll(handle.get(), kPollSliceMs));
    if (!message) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Usually transient (topic not created yet, broker restarting); say it
      // once rather than on every poll.
      if (message->err != last_warned) {
        warn(rd_kafka_message_errstr(message.get()));
        last_warned = message->err;
      }
      continue;
    }
    session.tracker().record(rd_kafka_topic_name(message->rkt), message->partition,
                             message->offset);
    ++consumed;
    last_message = Clock::now();
    limiter.record(last_message);
    if (consumed % static_cast<uint64_t>(commit_every) == 0) session.commit(nullptr);
  }
  const double seconds = seconds_since(start);

  const bool final_commit_ok = session.commit(nullptr);
  // Everything consumed is now committed, or cannot be: the revoke during
  // close has nothing left to commit and must not wait another --timeout.
  session.stop_committing();
  if (!close_consumer(handle.get(), &session, timeout) || !final_commit_ok) {
    // rd_kafka_destroy() would wait for the unanswered requests (up to
    // session.timeout.ms); the process exits right after this anyway.
    static_cast<void>(handle.release());
  }
  print_summary("consumed=" + std::to_string(consumed) +
                " commits=" + std::to_string(session.commits()) + " commit_failures=" +
                std::to_string(session.commit_failures()) + " seconds=" + format_seconds(seconds) +
                " msgs_per_sec=" + format_rate(static_cast<double>(consumed), seconds));
  if (!state.fatal_error_.empty()) return kafka_failure(state.fatal_error_);
  if (!final_commit_ok) return kafka_failure(session.last_commit_error());
  return kExitOk;
}

int run_command(const Options& options) {
  const std::string& command = options.command_;
  if (command == "create-topics") return run_create_topics(options);
  if (command == "delete-topics") return run_delete_topics(options);
  install_stop_handlers();
  if (command == "produce") return run_produce(options);
  if (command == "consume") return run_consume(options);
  if (command == "commit") return run_commit(options);
  return run_commit_many(options);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options options = parse_command_line(argc, argv);
    if (options.help_) {
      print_usage(stdout);
      return kExitOk;
    }
    if (options.command_.empty()) usage_error("no command given");
    check_options_allowed(options);
    g_command_name = options.command_;
    return run_command(options);
  } catch (const UsageError& error) {
    std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", kToolName, error.message_.c_str(),
                 kToolName);
    return kExitUsage;
  }
}
