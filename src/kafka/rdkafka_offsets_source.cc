// The OffsetsSource seam on librdkafka (the probe's seam is rdkafka_probe_agent.cc; both build
// their client configuration with rdkafka_common.h). Everything is blocking with explicit
// timeouts; admin requests go through a private queue so many can be in flight at once.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <future>
#include <initializer_list>
#include <map>

#include "khe/kafka/offsets_source.h"
#include "rdkafka_common.h"

namespace khe {
namespace {

using rdkafka::bootstrap_list;
using rdkafka::reason_name;
using rdkafka::to_ms;

// Before the user's properties, which may override them.
const std::vector<std::pair<std::string, std::string>> kOffsetsDefaults{
    {"client.id", "kafka-hub-exporter"},
    // High watermarks, as kafka-consumer-groups shows them, not the last stable offset.
    {"isolation.level", "read_uncommitted"},
    {"enable.auto.commit", "false"},
};

using rdkafka::AdminOptionsPtr;
using rdkafka::EventPtr;
using rdkafka::QueuePtr;

class RdKafkaOffsetsSource final : public OffsetsSource {
 public:
  RdKafkaOffsetsSource(rd_kafka_t* rk, std::string bootstrap, int max_concurrent,
                       KafkaOptions options)
      : rk_(rk),
        bootstrap_(std::move(bootstrap)),
        max_concurrent_(std::max(1, max_concurrent)),
        options_(std::move(options)) {}
  ~RdKafkaOffsetsSource() override {
    if (fetcher_) {
      rd_kafka_consumer_close(fetcher_);
      rd_kafka_destroy(fetcher_);
    }
    rd_kafka_destroy(rk_);
  }

  Result<ClusterMetadata> metadata(std::chrono::milliseconds timeout) override;
  WatermarkResult watermarks(const ClusterMetadata& metadata,
                             const std::vector<TopicPartition>& partitions,
                             std::chrono::milliseconds timeout) override;
  Result<GroupList> list_groups(std::chrono::milliseconds timeout) override;
  GroupDetails group_details(const std::vector<std::string>& groups,
                             std::chrono::milliseconds timeout) override;
  RecordTimestamps record_timestamps(const std::vector<TopicPartitionOffset>& wanted,
                                     std::chrono::milliseconds timeout) override;
  std::string client_version() const override { return rd_kafka_version_str(); }

 private:
  AdminOptionsPtr admin_options(rd_kafka_admin_op_t op, std::chrono::milliseconds timeout,
                                void* opaque = nullptr) {
    AdminOptionsPtr options(rd_kafka_AdminOptions_new(rk_, op));
    char errstr[256];
    rd_kafka_AdminOptions_set_request_timeout(options.get(), to_ms(timeout), errstr,
                                              sizeof(errstr));
    rd_kafka_AdminOptions_set_opaque(options.get(), opaque);
    return options;
  }

  rd_kafka_t* rk_;
  std::string bootstrap_;
  int max_concurrent_;
  KafkaOptions options_;
  // A second handle that only reads single records by assignment (never subscribes or commits),
  // created on first use. Its group.id exists only because librdkafka's assign() needs one.
  rd_kafka_t* fetcher_ = nullptr;
  // A record's timestamp never changes, so stopped consumers cost one fetch, not one per poll.
  std::map<TopicPartitionOffset, std::int64_t> timestamp_cache_;
};

Result<ClusterMetadata> RdKafkaOffsetsSource::metadata(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, to_ms(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ErrorKind kind = err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
                         ? ErrorKind::kConnect
                         : ErrorKind::kMetadata;
    if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
        err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
      kind = ErrorKind::kAuth;
    }
    return Error{kind, bootstrap_,
                 std::string("metadata request failed: ") + rd_kafka_err2str(err)};
  }
  ClusterMetadata out;
  for (int i = 0; i < md->broker_cnt; ++i) {
    out.brokers.push_back({md->brokers[i].id, md->brokers[i].host, md->brokers[i].port});
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    // A topic being created or deleted answers with an error and no partitions: skip it this poll.
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt == 0) continue;
    TopicInfo topic = rdkafka::topic_info(t);
    out.topics.push_back(std::move(topic));
  }
  rd_kafka_metadata_destroy(md);
  // The metadata call above refreshed librdkafka's cache, so this does not block.
  out.controller_id = rd_kafka_controllerid(rk_, 0);
  return out;
}

WatermarkResult RdKafkaOffsetsSource::watermarks(const ClusterMetadata& metadata,
                                                 const std::vector<TopicPartition>& partitions,
                                                 std::chrono::milliseconds timeout) {
  WatermarkResult out;
  std::map<TopicPartition, std::int32_t> leader_of;
  for (const auto& t : metadata.topics) {
    for (const auto& p : t.partitions) leader_of[{t.name, p.partition}] = p.leader;
  }
  std::map<std::int32_t, std::vector<TopicPartition>> by_leader;
  for (const auto& tp : partitions) {
    auto it = leader_of.find(tp);
    if (it == leader_of.end() || it->second < 0) {
      out.failed[tp] = "no_leader";
      continue;
    }
    by_leader[it->second].push_back(tp);
  }

  struct Answer {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::vector<std::pair<std::int64_t, rd_kafka_resp_err_t>> offsets;  // same order as asked
  };
  // rd_kafka_offsets_for_times() sends one ListOffsets per leader but fails as a whole when any
  // leader does not answer; one call per leader keeps a dead broker's failure to itself.
  auto ask = [this, timeout](const std::vector<TopicPartition>& tps, std::int64_t which) {
    Answer answer;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()));
    for (const auto& tp : tps) {
      rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = which;
    }
    answer.err = rd_kafka_offsets_for_times(rk_, list, to_ms(timeout));
    for (int i = 0; i < list->cnt; ++i) {
      answer.offsets.emplace_back(list->elems[i].offset, list->elems[i].err);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return answer;
  };
  struct Pending {
    std::int32_t leader;
    std::future<Answer> latest;
    std::future<Answer> earliest;
  };
  std::vector<Pending> pending;
  for (const auto& [leader, tps] : by_leader) {
    pending.push_back(
        {leader, std::async(std::launch::async, ask, std::cref(tps), RD_KAFKA_OFFSET_END),
         std::async(std::launch::async, ask, std::cref(tps), RD_KAFKA_OFFSET_BEGINNING)});
  }
  for (auto& p : pending) {
    const auto& tps = by_leader[p.leader];
    Answer latest = p.latest.get();
    Answer earliest = p.earliest.get();
    std::string broker = "broker " + std::to_string(p.leader);
    if (latest.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.errors.push_back({latest.err == RD_KAFKA_RESP_ERR__TIMED_OUT ? ErrorKind::kTimeout
                                                                       : ErrorKind::kWatermarks,
                            broker,
                            "latest offsets of " + std::to_string(tps.size()) +
                                " partitions failed: " + rd_kafka_err2str(latest.err)});
    }
    if (earliest.err != RD_KAFKA_RESP_ERR_NO_ERROR && latest.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.errors.push_back(
          {ErrorKind::kWatermarks, broker,
           std::string("earliest offsets failed: ") + rd_kafka_err2str(earliest.err)});
    }
    for (std::size_t i = 0; i < tps.size(); ++i) {
      const auto& tp = tps[i];
      bool latest_ok = latest.err == RD_KAFKA_RESP_ERR_NO_ERROR && i < latest.offsets.size() &&
                       latest.offsets[i].second == RD_KAFKA_RESP_ERR_NO_ERROR &&
                       latest.offsets[i].first >= 0;
      if (!latest_ok) {
        out.failed[tp] =
            latest.err != RD_KAFKA_RESP_ERR_NO_ERROR
                ? reason_name(latest.err)
                : (i < latest.offsets.size() ? reason_name(latest.offsets[i].second) : "no_answer");
        continue;
      }
      Watermark w;
      w.latest = latest.offsets[i].first;
      if (earliest.err == RD_KAFKA_RESP_ERR_NO_ERROR && i < earliest.offsets.size() &&
          earliest.offsets[i].second == RD_KAFKA_RESP_ERR_NO_ERROR) {
        w.earliest = earliest.offsets[i].first;
      }
      out.offsets[tp] = w;
    }
  }
  return out;
}

OffsetsSource::RecordTimestamps RdKafkaOffsetsSource::record_timestamps(
    const std::vector<TopicPartitionOffset>& wanted, std::chrono::milliseconds timeout) {
  constexpr std::size_t kCacheLimit = 200'000;
  RecordTimestamps out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<TopicPartition, std::vector<std::int64_t>> pending;  // per partition, offsets to read
  for (const auto& w : wanted) {
    if (auto it = timestamp_cache_.find(w); it != timestamp_cache_.end()) {
      out.timestamps_ms[w] = it->second;
    } else {
      pending[w.tp].push_back(w.offset);
    }
  }
  if (pending.empty()) return out;
  if (!fetcher_) {
    auto conf = rdkafka::make_conf(options_, kOffsetsDefaults);
    if (!conf) {
      out.errors.push_back(conf.error());
      return out;
    }
    char errstr[512];
    for (auto [k, v] : std::initializer_list<std::pair<const char*, const char*>>{
             {"group.id", "kafka-hub-exporter-record-timestamps"},
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"},
             {"auto.offset.reset", "error"},
             {"enable.partition.eof", "true"},
             // One record is wanted; a small fetch returns at least the batch holding it.
             {"fetch.max.bytes", "1048576"},
             {"max.partition.fetch.bytes", "16384"},
             {"queued.max.messages.kbytes", "4096"}}) {
      rd_kafka_conf_set(conf.value(), k, v, errstr, sizeof(errstr));
    }
    fetcher_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.value(), errstr, sizeof(errstr));
    if (!fetcher_) {
      rd_kafka_conf_destroy(conf.value());
      out.errors.push_back({ErrorKind::kConfig, "kafka", std::string("record reader: ") + errstr});
      return out;
    }
  }
  // A partition can be assigned once at a time: round k reads the k-th offset of each partition.
  for (std::size_t round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(16);
    std::map<TopicPartition, std::int64_t> asked;
    for (auto& [tp, offsets] : pending) {
      if (round >= offsets.size()) continue;
      rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset =
          offsets[round];
      asked[tp] = offsets[round];
    }
    if (asked.empty()) {
      rd_kafka_topic_partition_list_destroy(list);
      break;
    }
    rd_kafka_assign(fetcher_, list);
    rd_kafka_topic_partition_list_destroy(list);
    while (!asked.empty() && std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(
          fetcher_, static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, 100)));
      if (!msg) continue;
      if (msg->rkt) {
        TopicPartition tp{rd_kafka_topic_name(msg->rkt), msg->partition};
        auto it = asked.find(tp);
        if (it != asked.end()) {
          if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && msg->offset >= it->second) {
            rd_kafka_timestamp_type_t type;
            std::int64_t ts = rd_kafka_message_timestamp(msg, &type);
            if (ts >= 0 && type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
              TopicPartitionOffset key{tp, it->second};
              out.timestamps_ms[key] = ts;
              if (timestamp_cache_.size() >= kCacheLimit) timestamp_cache_.clear();
              timestamp_cache_[key] = ts;
            }
            asked.erase(it);
          } else if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // End of partition, or the record is gone (retention): nothing to read there.
            asked.erase(it);
          }
        }
      }
      rd_kafka_message_destroy(msg);
    }
    rd_kafka_assign(fetcher_, nullptr);
  }
  std::size_t missing = wanted.size() - out.timestamps_ms.size();
  if (missing > 0 && std::chrono::steady_clock::now() >= deadline) {
    out.errors.push_back({ErrorKind::kTimeout, bootstrap_,
                          std::to_string(missing) +
                              " record timestamps not read before the poll deadline "
                              "(lag_seconds falls back to interpolation for them)"});
  }
  return out;
}

Result<OffsetsSource::GroupList> RdKafkaOffsetsSource::list_groups(
    std::chrono::milliseconds timeout) {
  QueuePtr queue(rd_kafka_queue_new(rk_));
  auto options = admin_options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout);
  rd_kafka_ListConsumerGroups(rk_, options.get(), queue.get());
  // The request timeout bounds the operation; the extra second only covers event delivery.
  EventPtr event(rd_kafka_queue_poll(queue.get(), to_ms(timeout) + 1000));
  if (!event) return Error{ErrorKind::kTimeout, bootstrap_, "listing consumer groups timed out"};
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{
        ErrorKind::kGroups, bootstrap_,
        std::string("listing consumer groups failed: ") + rd_kafka_event_error_string(event.get())};
  }
  const auto* result = rd_kafka_event_ListConsumerGroups_result(event.get());
  GroupList out;
  size_t count = 0;
  const rd_kafka_ConsumerGroupListing_t** valid =
      rd_kafka_ListConsumerGroups_result_valid(result, &count);
  for (size_t i = 0; i < count; ++i) {
    out.groups.push_back(
        {rd_kafka_ConsumerGroupListing_group_id(valid[i]),
         rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(valid[i])),
         rd_kafka_ConsumerGroupListing_is_simple_consumer_group(valid[i]) != 0});
  }
  size_t error_count = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &error_count);
  for (size_t i = 0; i < error_count; ++i) {
    out.errors.push_back(
        {ErrorKind::kGroups, bootstrap_,
         std::string("a broker did not list its groups: ") + rd_kafka_error_string(errors[i])});
  }
  return out;
}

OffsetsSource::GroupDetails RdKafkaOffsetsSource::group_details(
    const std::vector<std::string>& groups, std::chrono::milliseconds timeout) {
  GroupDetails out;
  if (groups.empty()) return out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  constexpr std::size_t kDescribeBatch = 50;

  // One work item is a describe batch or one group's committed offsets (the API takes exactly
  // one group per call); up to max_concurrent_ are in flight on one queue.
  struct Work {
    bool describe = false;
    std::vector<std::string> groups;
    bool done = false;
  };
  std::vector<Work> work;
  for (std::size_t i = 0; i < groups.size(); i += kDescribeBatch) {
    Work w;
    w.describe = true;
    w.groups.assign(
        groups.begin() + static_cast<std::ptrdiff_t>(i),
        groups.begin() + static_cast<std::ptrdiff_t>(std::min(groups.size(), i + kDescribeBatch)));
    work.push_back(std::move(w));
  }
  for (const auto& g : groups) work.push_back(Work{false, {g}, false});

  QueuePtr queue(rd_kafka_queue_new(rk_));
  std::size_t next = 0, in_flight = 0, finished = 0;
  auto launch = [&](std::size_t index) {
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(index));
    Work& w = work[index];
    if (w.describe) {
      std::vector<const char*> names;
      for (const auto& g : w.groups) names.push_back(g.c_str());
      auto options = admin_options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, remaining, opaque);
      rd_kafka_DescribeConsumerGroups(rk_, names.data(), names.size(), options.get(), queue.get());
    } else {
      rd_kafka_ListConsumerGroupOffsets_t* request =
          rd_kafka_ListConsumerGroupOffsets_new(w.groups[0].c_str(), nullptr);
      auto options = admin_options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, remaining, opaque);
      rd_kafka_ListConsumerGroupOffsets(rk_, &request, 1, options.get(), queue.get());
      rd_kafka_ListConsumerGroupOffsets_destroy(request);
    }
    ++in_flight;
  };

  while (finished < work.size()) {
    while (in_flight < static_cast<std::size_t>(max_concurrent_) && next < work.size() &&
           std::chrono::steady_clock::now() < deadline) {
      launch(next++);
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (in_flight == 0 || remaining.count() <= 0) break;
    EventPtr event(rd_kafka_queue_poll(queue.get(), to_ms(remaining)));
    if (!event) continue;  // loop re-checks the deadline
    auto index = static_cast<std::size_t>(
        reinterpret_cast<std::uintptr_t>(rd_kafka_event_opaque(event.get())));
    if (index >= work.size() || work[index].done) continue;
    Work& w = work[index];
    w.done = true;
    --in_flight;
    ++finished;
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.errors.push_back({w.describe ? ErrorKind::kGroups : ErrorKind::kOffsets, w.groups.front(),
                            std::string(w.describe ? "describing groups failed: "
                                                   : "reading committed offsets failed: ") +
                                rd_kafka_event_error_string(event.get())});
      continue;
    }
    if (w.describe) {
      const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event.get());
      size_t count = 0;
      const auto** descs = rd_kafka_DescribeConsumerGroups_result_groups(result, &count);
      for (size_t i = 0; i < count; ++i) {
        const auto* d = descs[i];
        const char* group_id = rd_kafka_ConsumerGroupDescription_group_id(d);
        if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
          if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) continue;
          out.errors.push_back(
              {ErrorKind::kGroups, group_id,
               std::string("describing group failed: ") + rd_kafka_error_string(e)});
          continue;
        }
        GroupDescription desc;
        desc.group = group_id;
        desc.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
        const char* assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(d);
        desc.protocol = assignor ? assignor : "";
        desc.protocol_type =
            rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) ? "" : "consumer";
        if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
          desc.coordinator_id = rd_kafka_Node_id(node);
        }
        size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
        for (size_t m = 0; m < members; ++m) {
          const auto* member = rd_kafka_ConsumerGroupDescription_member(d, m);
          MemberInfo info;
          const char* s = rd_kafka_MemberDescription_consumer_id(member);
          info.consumer_id = s ? s : "";
          s = rd_kafka_MemberDescription_client_id(member);
          info.client_id = s ? s : "";
          s = rd_kafka_MemberDescription_host(member);
          info.host = s ? s : "";
          // Kafka reports hosts as "/10.0.0.1"; the slash is noise in a label.
          if (!info.host.empty() && info.host.front() == '/') info.host.erase(0, 1);
          if (const auto* assignment = rd_kafka_MemberDescription_assignment(member)) {
            if (const auto* parts = rd_kafka_MemberAssignment_partitions(assignment)) {
              for (int p = 0; p < parts->cnt; ++p) {
                info.assignment.push_back({parts->elems[p].topic, parts->elems[p].partition});
              }
            }
          }
          desc.members.push_back(std::move(info));
        }
        out.descriptions.push_back(std::move(desc));
      }
    } else {
      const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(event.get());
      size_t count = 0;
      const auto** results = rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count);
      for (size_t i = 0; i < count; ++i) {
        const char* group_id = rd_kafka_group_result_name(results[i]);
        if (const rd_kafka_error_t* e = rd_kafka_group_result_error(results[i])) {
          out.errors.push_back(
              {ErrorKind::kOffsets, group_id,
               std::string("reading committed offsets failed: ") + rd_kafka_error_string(e)});
          continue;
        }
        GroupOffsets offsets;
        offsets.group = group_id;
        if (const auto* parts = rd_kafka_group_result_partitions(results[i])) {
          for (int p = 0; p < parts->cnt; ++p) {
            const auto& e = parts->elems[p];
            // RD_KAFKA_OFFSET_INVALID (-1001): nothing committed on this partition.
            if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR || e.offset < 0) continue;
            offsets.committed[{e.topic, e.partition}] = e.offset;
          }
        }
        out.offsets.push_back(std::move(offsets));
      }
    }
  }
  std::size_t unfinished = 0;
  for (const auto& w : work) unfinished += w.done ? 0 : 1;
  if (unfinished > 0) {
    out.errors.push_back(
        {ErrorKind::kTimeout, bootstrap_,
         std::to_string(unfinished) + " group requests did not finish before the poll deadline"});
  }
  return out;
}

}  // namespace

std::optional<Error> validate_rdkafka_properties(const KafkaOptions& options) {
  auto conf = rdkafka::make_conf(options, kOffsetsDefaults);
  if (!conf) return conf.error();
  rd_kafka_conf_destroy(conf.value());
  return std::nullopt;
}

Result<std::unique_ptr<OffsetsSource>> make_rdkafka_offsets_source(const KafkaOptions& options) {
  auto conf = rdkafka::make_conf(options, kOffsetsDefaults);
  if (!conf) return conf.error();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.value(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf.value());
    return Error{ErrorKind::kConfig, "kafka", std::string("cannot create client: ") + errstr};
  }
  return std::unique_ptr<OffsetsSource>(new RdKafkaOffsetsSource(
      rk, bootstrap_list(options), options.max_concurrent_group_requests, options));
}

std::string rdkafka_version() { return rd_kafka_version_str(); }

}  // namespace khe
