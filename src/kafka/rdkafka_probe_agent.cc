// The ProbeAgent on librdkafka: the probe's seam to Kafka (see probe_agent.h). Runs only in the
// probe worker process. Three threads, each owning its librdkafka calls:
//   metadata: reads the probe topic's metadata, creates it or adds partitions as planned,
//             publishes the partitions and their leaders;
//   producer: one message per partition per interval, and the delivery reports;
//   consumer: assigns every partition (no group rebalancing: a restarted worker must not wait
//             for the last one's session to expire), receives, commits each interval.
// Events go to one mutex-guarded buffer that drain() swaps out.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "khe/kafka/probe_agent.h"
#include "khe/kafka/probe_message.h"
#include "khe/kafka/probe_topic_plan.h"
#include "rdkafka_common.h"

namespace khe {
namespace {

using Clock = std::chrono::steady_clock;
using rdkafka::to_ms;

// Events kept between two drains at most; beyond that they are counted as dropped.
constexpr std::size_t kMaxBufferedEvents = 500'000;
// After a failed topic creation or partition addition, the next attempt waits this long.
constexpr std::chrono::seconds kTopicChangeBackoff{30};
// Commits of the probe group at most this often (with a short probe.interval).
constexpr std::chrono::milliseconds kMinCommitInterval{1000};
// Probe messages live no longer than this on the topic the probe creates: they are worth
// nothing after their loss timeout.
constexpr const char* kProbeRetentionMs = "3600000";

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::uint64_t random_run_id() {
  std::random_device device;
  std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return id == 0 ? 1 : id;
}

bool is_authorization_error(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

ErrorKind kind_of(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return ErrorKind::kAuth;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return ErrorKind::kTimeout;
    default:
      return ErrorKind::kProbeTopic;
  }
}

// What the producer attaches to each message, back in the delivery report.
struct InFlight {
  ProbeMessageId id;
  std::int32_t partition;
  std::int64_t sent_ns;
};

class RdKafkaProbeAgent final : public ProbeAgent {
 public:
  RdKafkaProbeAgent(KafkaOptions kafka, ProbeOptions probe)
      : kafka_(std::move(kafka)), probe_(std::move(probe)), run_(random_run_id()) {}
  ~RdKafkaProbeAgent() override;
  RdKafkaProbeAgent(const RdKafkaProbeAgent&) = delete;
  RdKafkaProbeAgent& operator=(const RdKafkaProbeAgent&) = delete;

  std::optional<Error> start();
  ProbeReport drain() override;

 private:
  struct Target {
    std::int32_t partition;
    std::int32_t leader;
  };

  void metadata_loop();
  void producer_loop();
  void consumer_loop();

  // Metadata thread.
  std::optional<ProbeTopicState> read_topic(std::optional<std::vector<PartitionInfo>>& partitions);
  std::optional<Error> change_topic(const ProbeTopicPlan& plan, std::size_t existing_partitions);
  // Producer thread.
  void produce_round();
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  // Consumer thread.
  void assign_new_partitions();
  void commit();
  static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* offsets, void* opaque);

  // Recorders, from any thread.
  bool room_for_event();  // requires events_mutex_
  void record(ProbeSend send);
  void record(ProbeAck ack);
  void record(ProbeReceipt receipt);
  void record(ProbeCommit commit);
  void record(Error error);

  // Sleeps until `until` or stop(); returns false once stopping.
  bool sleep_until(Clock::time_point until);

  const KafkaOptions kafka_;
  const ProbeOptions probe_;
  const std::uint64_t run_;
  const std::int64_t started_ns_ = now_ns();

  rd_kafka_t* producer_ = nullptr;  // also does metadata and admin requests
  rd_kafka_t* consumer_ = nullptr;
  rd_kafka_topic_t* topic_handle_ = nullptr;    // on producer_, for metadata of this topic
  rd_kafka_queue_t* consumer_queue_ = nullptr;  // where commit results arrive

  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;

  std::mutex state_mutex_;
  ProbeTopicState state_;        // GUARDED_BY(state_mutex_)
  std::vector<Target> targets_;  // GUARDED_BY(state_mutex_)
  std::atomic<std::uint64_t> targets_version_{0};

  std::mutex events_mutex_;
  ProbeReport events_;  // GUARDED_BY(events_mutex_): only the event vectors and errors are used

  // Producer thread only.
  std::uint64_t next_seq_ = 0;
  // Consumer thread only.
  std::uint64_t assigned_version_ = 0;
  std::set<std::int32_t> assigned_;
  Clock::time_point next_assign_attempt_{};
  std::uint64_t next_commit_id_ = 0;
  std::map<std::uint64_t, Clock::time_point> commits_in_flight_;

  std::vector<std::thread> threads_;
};

std::optional<Error> RdKafkaProbeAgent::start() {
  char errstr[512];
  const std::string client_id = "kafka-hub-exporter-probe";
  const std::string produce_timeout = std::to_string(probe_.produce_timeout.count());
  auto producer_conf = rdkafka::make_conf(
      kafka_, {{"client.id", client_id},
               {"acks", probe_.acks},
               {"message.timeout.ms", produce_timeout},
               {"request.timeout.ms", produce_timeout},
               // A latency probe: send at once, never wait to fill a batch.
               {"linger.ms", "0"},
               // Metadata for a missing topic must not create it with the broker's defaults.
               {"allow.auto.create.topics", "false"}});
  if (!producer_conf) return producer_conf.error();
  rd_kafka_conf_set_opaque(producer_conf.value(), this);
  rd_kafka_conf_set_dr_msg_cb(producer_conf.value(), &RdKafkaProbeAgent::on_delivery);
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, producer_conf.value(), errstr, sizeof(errstr));
  if (!producer_) {
    rd_kafka_conf_destroy(producer_conf.value());
    return Error{ErrorKind::kConfig, "probe", std::string("cannot create producer: ") + errstr};
  }
  auto consumer_conf =
      rdkafka::make_conf(kafka_, {{"client.id", client_id},
                                  {"group.id", probe_.group},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "true"},
                                  // A partition the group never committed on is read from its
                                  // start, so nothing sent before the consumer got there is missed.
                                  {"auto.offset.reset", "earliest"},
                                  {"allow.auto.create.topics", "false"}});
  if (!consumer_conf) return consumer_conf.error();
  rd_kafka_conf_set_opaque(consumer_conf.value(), this);
  consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf.value(), errstr, sizeof(errstr));
  if (!consumer_) {
    rd_kafka_conf_destroy(consumer_conf.value());
    return Error{ErrorKind::kConfig, "probe", std::string("cannot create consumer: ") + errstr};
  }
  rd_kafka_poll_set_consumer(consumer_);
  consumer_queue_ = rd_kafka_queue_get_consumer(consumer_);
  topic_handle_ = rd_kafka_topic_new(producer_, probe_.topic.c_str(), nullptr);
  spdlog::info("probe worker started run={:016x} topic={} group={} interval={}ms", run_,
               probe_.topic, probe_.group, probe_.interval.count());
  threads_.emplace_back([this] { metadata_loop(); });
  threads_.emplace_back([this] { producer_loop(); });
  threads_.emplace_back([this] { consumer_loop(); });
  return std::nullopt;
}

RdKafkaProbeAgent::~RdKafkaProbeAgent() {
  {
    // Under the sleepers' mutex, so that none checks stopping_ and then misses the wake-up.
    std::lock_guard lock(sleep_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  if (topic_handle_) rd_kafka_topic_destroy(topic_handle_);
  if (consumer_queue_) rd_kafka_queue_destroy(consumer_queue_);
  if (consumer_) {
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
  }
  if (producer_) rd_kafka_destroy(producer_);
}

bool RdKafkaProbeAgent::sleep_until(Clock::time_point until) {
  std::unique_lock lock(sleep_mutex_);
  wake_.wait_until(lock, until, [this] { return stopping_.load(); });
  return !stopping_;
}

bool RdKafkaProbeAgent::room_for_event() {
  std::size_t n =
      events_.sends.size() + events_.acks.size() + events_.receipts.size() + events_.commits.size();
  if (n < kMaxBufferedEvents) return true;
  ++events_.dropped_events;
  return false;
}

void RdKafkaProbeAgent::record(ProbeSend send) {
  std::lock_guard lock(events_mutex_);
  if (room_for_event()) events_.sends.push_back(send);
}
void RdKafkaProbeAgent::record(ProbeAck ack) {
  std::lock_guard lock(events_mutex_);
  if (room_for_event()) events_.acks.push_back(std::move(ack));
}
void RdKafkaProbeAgent::record(ProbeReceipt receipt) {
  std::lock_guard lock(events_mutex_);
  if (room_for_event()) events_.receipts.push_back(receipt);
}
void RdKafkaProbeAgent::record(ProbeCommit commit) {
  std::lock_guard lock(events_mutex_);
  if (room_for_event()) events_.commits.push_back(std::move(commit));
}
void RdKafkaProbeAgent::record(Error error) {
  // The exporter logs the errors of each collection; here only for debugging the worker.
  spdlog::debug("probe: {}", error.to_string());
  std::lock_guard lock(events_mutex_);
  if (events_.errors.size() < 100) events_.errors.push_back(std::move(error));
}

ProbeReport RdKafkaProbeAgent::drain() {
  ProbeReport out;
  out.run = run_;
  out.started_ns = started_ns_;
  // Taken before the swap: every event stamped earlier is in this report (but for one stamped
  // in the instant between the two lines, which then comes with the next report).
  out.drained_ns = now_ns();
  {
    std::lock_guard lock(events_mutex_);
    out.sends.swap(events_.sends);
    out.acks.swap(events_.acks);
    out.receipts.swap(events_.receipts);
    out.commits.swap(events_.commits);
    out.errors.swap(events_.errors);
    out.dropped_events = events_.dropped_events;
    events_.dropped_events = 0;
  }
  std::lock_guard lock(state_mutex_);
  out.topic = state_;
  return out;
}

// ---- metadata thread ----

std::optional<ProbeTopicState> RdKafkaProbeAgent::read_topic(
    std::optional<std::vector<PartitionInfo>>& partitions) {
  const rd_kafka_metadata_t* md = nullptr;
  auto timeout = std::clamp(probe_.interval * 2, std::chrono::milliseconds(2000),
                            std::chrono::milliseconds(10000));
  rd_kafka_resp_err_t err = rd_kafka_metadata(producer_, 0, topic_handle_, &md, to_ms(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    record(Error{err == RD_KAFKA_RESP_ERR__TIMED_OUT ? ErrorKind::kConnect : ErrorKind::kMetadata,
                 rdkafka::bootstrap_list(kafka_),
                 std::string("probe metadata request failed: ") + rd_kafka_err2str(err)});
    return std::nullopt;
  }
  ProbeTopicState state;
  state.known = true;
  for (int i = 0; i < md->broker_cnt; ++i) state.brokers.push_back(md->brokers[i].id);
  std::sort(state.brokers.begin(), state.brokers.end());
  partitions.reset();
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (probe_.topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0) {
      // Being created, or not authorized to see it: wait for the next refresh.
      if (t.err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        record(Error{ErrorKind::kAuth, probe_.topic, "not authorized to describe the probe topic"});
      }
      rd_kafka_metadata_destroy(md);
      return std::nullopt;
    }
    partitions = rdkafka::topic_info(t).partitions;
  }
  rd_kafka_metadata_destroy(md);
  state.exists = partitions.has_value();
  if (partitions) state.partitions = *partitions;
  return state;
}

std::optional<Error> RdKafkaProbeAgent::change_topic(const ProbeTopicPlan& plan,
                                                     std::size_t existing_partitions) {
  char errstr[512];
  rdkafka::QueuePtr queue(rd_kafka_queue_new(producer_));
  auto op = plan.action == ProbeTopicPlan::Action::kCreate ? RD_KAFKA_ADMIN_OP_CREATETOPICS
                                                           : RD_KAFKA_ADMIN_OP_CREATEPARTITIONS;
  rdkafka::AdminOptionsPtr options(rd_kafka_AdminOptions_new(producer_, op));
  constexpr auto kAdminTimeout = std::chrono::milliseconds(15000);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), to_ms(kAdminTimeout), errstr,
                                            sizeof(errstr));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), to_ms(kAdminTimeout), errstr,
                                              sizeof(errstr));
  const char* what =
      plan.action == ProbeTopicPlan::Action::kCreate ? "creating" : "adding partitions to";
  if (plan.action == ProbeTopicPlan::Action::kCreate) {
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(
        probe_.topic.c_str(), static_cast<int>(plan.assignment.size()), -1, errstr, sizeof(errstr));
    if (!topic)
      return Error{ErrorKind::kConfig, probe_.topic, std::string("probe topic: ") + errstr};
    for (std::size_t i = 0; i < plan.assignment.size(); ++i) {
      auto replicas = plan.assignment[i];
      if (rd_kafka_NewTopic_set_replica_assignment(topic, static_cast<std::int32_t>(i),
                                                   replicas.data(), replicas.size(), errstr,
                                                   sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_NewTopic_destroy(topic);
        return Error{ErrorKind::kInternal, probe_.topic,
                     std::string("replica assignment: ") + errstr};
      }
    }
    rd_kafka_NewTopic_set_config(topic, "retention.ms", kProbeRetentionMs);
    rd_kafka_CreateTopics(producer_, &topic, 1, options.get(), queue.get());
    rd_kafka_NewTopic_destroy(topic);
  } else {
    rd_kafka_NewPartitions_t* parts = rd_kafka_NewPartitions_new(
        probe_.topic.c_str(), existing_partitions + plan.assignment.size(), errstr, sizeof(errstr));
    if (!parts)
      return Error{ErrorKind::kConfig, probe_.topic, std::string("probe topic: ") + errstr};
    for (std::size_t i = 0; i < plan.assignment.size(); ++i) {
      auto replicas = plan.assignment[i];
      if (rd_kafka_NewPartitions_set_replica_assignment(
              parts, static_cast<std::int32_t>(i), replicas.data(), replicas.size(), errstr,
              sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_NewPartitions_destroy(parts);
        return Error{ErrorKind::kInternal, probe_.topic,
                     std::string("replica assignment: ") + errstr};
      }
    }
    rd_kafka_CreatePartitions(producer_, &parts, 1, options.get(), queue.get());
    rd_kafka_NewPartitions_destroy(parts);
  }
  rdkafka::EventPtr event(rd_kafka_queue_poll(queue.get(), to_ms(kAdminTimeout) + 2000));
  if (!event) {
    return Error{ErrorKind::kTimeout, probe_.topic,
                 std::string(what) + " the probe topic timed out"};
  }
  if (auto err = rd_kafka_event_error(event.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{
        kind_of(err), probe_.topic,
        std::string(what) + " the probe topic failed: " + rd_kafka_event_error_string(event.get())};
  }
  const rd_kafka_topic_result_t** results = nullptr;
  size_t count = 0;
  if (plan.action == ProbeTopicPlan::Action::kCreate) {
    results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()),
                                                  &count);
  } else {
    results = rd_kafka_CreatePartitions_result_topics(
        rd_kafka_event_CreatePartitions_result(event.get()), &count);
  }
  for (size_t i = 0; i < count; ++i) {
    auto err = rd_kafka_topic_result_error(results[i]);
    // Another exporter (or an operator) got there first: what the next refresh sees counts.
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      continue;
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    return Error{kind_of(err), probe_.topic,
                 std::string(what) +
                     " the probe topic failed: " + (message ? message : rd_kafka_err2str(err))};
  }
  spdlog::info("probe: {} topic {}: {} partitions with replicas on brokers as planned", what,
               probe_.topic, plan.assignment.size());
  return std::nullopt;
}

void RdKafkaProbeAgent::metadata_loop() {
  const auto period =
      std::clamp(probe_.interval, std::chrono::milliseconds(1000), std::chrono::milliseconds(5000));
  // Right after a change, look again soon: the new partitions appear within a second.
  constexpr auto kAfterChange = std::chrono::milliseconds(500);
  Clock::time_point no_change_before{};
  auto wait = period;
  do {
    wait = period;
    std::optional<std::vector<PartitionInfo>> partitions;
    auto state = read_topic(partitions);
    if (!state) continue;
    auto plan = plan_probe_topic(state->brokers, partitions, probe_);
    state->uncovered_brokers = plan.uncovered_brokers;
    state->problem = plan.problem;
    if (plan.action != ProbeTopicPlan::Action::kNone && Clock::now() >= no_change_before) {
      if (auto error = change_topic(plan, partitions ? partitions->size() : 0)) {
        record(*error);
        no_change_before = Clock::now() + kTopicChangeBackoff;
      } else {
        wait = kAfterChange;
      }
    }
    std::vector<Target> targets;
    for (const auto& p : state->partitions) targets.push_back({p.partition, p.leader});
    std::lock_guard lock(state_mutex_);
    if (targets.size() != targets_.size()) ++targets_version_;
    state_ = std::move(*state);
    targets_ = std::move(targets);
  } while (sleep_until(Clock::now() + wait));
}

// ---- producer thread ----

void RdKafkaProbeAgent::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* self = static_cast<RdKafkaProbeAgent*>(opaque);
  std::unique_ptr<InFlight> flight(static_cast<InFlight*>(message->_private));
  if (!flight) return;
  ProbeAck ack;
  ack.id = flight->id;
  ack.partition = flight->partition;
  ack.sent_ns = flight->sent_ns;
  ack.acked_ns = now_ns();
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) ack.error = rdkafka::reason_name(message->err);
  self->record(std::move(ack));
  // The counters say that messages fail; a missing ACL is worth saying why, too.
  if (is_authorization_error(message->err)) {
    self->record(
        Error{ErrorKind::kAuth, self->probe_.topic,
              std::string("producing to the probe topic: ") + rd_kafka_err2str(message->err)});
  }
}

void RdKafkaProbeAgent::produce_round() {
  std::vector<Target> targets;
  {
    std::lock_guard lock(state_mutex_);
    targets = targets_;
  }
  for (const auto& t : targets) {
    ProbeMessage message{{run_, ++next_seq_}, now_ns()};
    std::string value =
        encode_probe_message(message, static_cast<std::size_t>(probe_.message_size));
    record(ProbeSend{message.id, t.partition, t.leader >= 0 ? t.leader : kUnknownBroker,
                     message.sent_ns});
    auto* flight = new InFlight{message.id, t.partition, message.sent_ns};
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_RKT(topic_handle_), RD_KAFKA_V_PARTITION(t.partition),
        RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE(flight), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Refused before it was sent (queue full, unknown partition): failed now.
      delete flight;
      record(
          ProbeAck{message.id, t.partition, message.sent_ns, now_ns(), rdkafka::reason_name(err)});
    }
  }
}

void RdKafkaProbeAgent::producer_loop() {
  auto next = Clock::now();
  while (!stopping_) {
    auto now = Clock::now();
    if (now >= next) {
      produce_round();
      next += probe_.interval;
      // Rounds missed while this thread could not run are skipped, not sent in a burst.
      if (next <= now) next = now + probe_.interval;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    // Serves delivery reports as they come: the acknowledgement time is when the report
    // arrived, not when this thread next looked.
    rd_kafka_poll(producer_, static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, 100)));
  }
}

// ---- consumer thread ----

void RdKafkaProbeAgent::assign_new_partitions() {
  auto version = targets_version_.load();
  if (version == assigned_version_ || Clock::now() < next_assign_attempt_) return;
  std::set<std::int32_t> wanted;
  {
    std::lock_guard lock(state_mutex_);
    for (const auto& t : targets_) wanted.insert(t.partition);
  }
  if (wanted == assigned_) {
    assigned_version_ = version;
    return;
  }
  using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                  decltype(&rd_kafka_topic_partition_list_destroy)>;
  auto new_list = [](std::size_t n) {
    return ListPtr(rd_kafka_topic_partition_list_new(static_cast<int>(n)),
                   &rd_kafka_topic_partition_list_destroy);
  };
  // Partitions already read continue where they are.
  auto start = new_list(wanted.size());
  for (auto p : wanted) rd_kafka_topic_partition_list_add(start.get(), probe_.topic.c_str(), p);
  if (!assigned_.empty()) rd_kafka_position(consumer_, start.get());
  // The others start at the group's committed offset (or the partition's start), read here
  // rather than left to librdkafka (RD_KAFKA_OFFSET_STORED): its own committed-offset fetch can
  // leave a partition waiting forever when the group's coordinator moves or is still loading
  // (librdkafka #5586), and then every message to it would count as lost.
  auto unknown = new_list(wanted.size());
  for (int i = 0; i < start->cnt; ++i) {
    if (assigned_.count(start->elems[i].partition) == 0 || start->elems[i].offset < 0) {
      rd_kafka_topic_partition_list_add(unknown.get(), probe_.topic.c_str(),
                                        start->elems[i].partition);
    }
  }
  if (unknown->cnt > 0) {
    rd_kafka_resp_err_t err =
        rd_kafka_committed(consumer_, unknown.get(), to_ms(std::chrono::milliseconds(2000)));
    for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < unknown->cnt; ++i) {
      err = unknown->elems[i].err;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("probe: reading the group's committed offsets: {}", rd_kafka_err2str(err));
      if (is_authorization_error(err)) {
        record(Error{ErrorKind::kAuth, probe_.group,
                     std::string("reading the probe group's offsets: ") + rd_kafka_err2str(err)});
      }
      next_assign_attempt_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
    for (int i = 0; i < unknown->cnt; ++i) {
      auto* entry = rd_kafka_topic_partition_list_find(start.get(), probe_.topic.c_str(),
                                                       unknown->elems[i].partition);
      entry->offset =
          unknown->elems[i].offset >= 0 ? unknown->elems[i].offset : RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(consumer_, start.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    record(Error{ErrorKind::kProbeTopic, probe_.topic,
                 std::string("assigning the probe partitions failed: ") + rd_kafka_err2str(err)});
    next_assign_attempt_ = Clock::now() + std::chrono::seconds(1);
    return;
  }
  assigned_ = std::move(wanted);
  assigned_version_ = version;
  spdlog::debug("probe: consuming {} partitions of {}", assigned_.size(), probe_.topic);
}

void RdKafkaProbeAgent::on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t*, void* opaque) {
  auto* self = static_cast<RdKafkaProbeAgent*>(rd_kafka_opaque(rk));
  auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(opaque));
  auto it = self->commits_in_flight_.find(id);
  if (it == self->commits_in_flight_.end()) return;
  auto latency = Clock::now() - it->second;
  self->commits_in_flight_.erase(it);
  // Nothing consumed since the last commit: no request was made, nothing to measure.
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  ProbeCommit commit;
  commit.latency_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) commit.error = rdkafka::reason_name(err);
  self->record(std::move(commit));
  if (is_authorization_error(err)) {
    self->record(
        Error{ErrorKind::kAuth, self->probe_.group,
              std::string("committing the probe group's offsets: ") + rd_kafka_err2str(err)});
  }
}

void RdKafkaProbeAgent::commit() {
  if (assigned_.empty()) return;
  auto id = ++next_commit_id_;
  commits_in_flight_[id] = Clock::now();
  // A commit whose result never came (its coordinator vanished) is forgotten after a minute.
  while (!commits_in_flight_.empty() &&
         Clock::now() - commits_in_flight_.begin()->second > std::chrono::minutes(1)) {
    commits_in_flight_.erase(commits_in_flight_.begin());
  }
  rd_kafka_commit_queue(consumer_, nullptr, consumer_queue_, &RdKafkaProbeAgent::on_commit,
                        reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)));
}

void RdKafkaProbeAgent::consumer_loop() {
  const auto commit_every = std::max(probe_.interval, kMinCommitInterval);
  auto next_commit = Clock::now() + commit_every;
  while (!stopping_) {
    assign_new_partitions();
    // Commit results are served by this poll too (they arrive on the consumer queue).
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 100);
    if (message) {
      auto received_ns = now_ns();
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->payload) {
        auto decoded = decode_probe_message(
            std::string_view(static_cast<const char*>(message->payload), message->len));
        if (decoded) {
          record(ProbeReceipt{decoded->id, message->partition, decoded->sent_ns, received_ns});
        }
      } else if (is_authorization_error(message->err)) {
        // Otherwise every message would just turn "lost" without a reason anywhere.
        record(
            Error{ErrorKind::kAuth, probe_.topic,
                  std::string("consuming the probe topic: ") + rd_kafka_message_errstr(message)});
      } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Broker failures (transport, leader changes): the counters and latencies show them.
        spdlog::debug("probe: consumer: {}", rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    if (Clock::now() >= next_commit) {
      commit();
      next_commit += commit_every;
      if (next_commit <= Clock::now()) next_commit = Clock::now() + commit_every;
    }
  }
}

}  // namespace

Result<std::unique_ptr<ProbeAgent>> start_rdkafka_probe_agent(const KafkaOptions& kafka,
                                                              const ProbeOptions& probe) {
  auto agent = std::make_unique<RdKafkaProbeAgent>(kafka, probe);
  if (auto error = agent->start()) return *error;
  return std::unique_ptr<ProbeAgent>(std::move(agent));
}

}  // namespace khe
