// The probe's two encodings: a message's value (anyone can write to the probe topic) and the
// worker's report (a worker can die mid-write).
#include "khe/kafka/probe_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "khe/kafka/probe_message.h"
#include "khe/kafka/wire.h"

namespace khe {
namespace {

TEST(ProbeMessage, RoundTripsAndIsPaddedToTheConfiguredSize) {
  ProbeMessage m{{0xfeedfacecafebeefull, 42}, 1'700'000'000'123'456'789};
  auto value = encode_probe_message(m, 128);
  EXPECT_EQ(value.size(), 128u);
  auto back = decode_probe_message(value);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, m.id);
  EXPECT_EQ(back->sent_ns, m.sent_ns);
  EXPECT_EQ(encode_probe_message(m, 0).size(), kProbeHeaderBytes);
}

TEST(ProbeMessage, AnythingElseIsNotAProbeMessage) {
  EXPECT_FALSE(decode_probe_message(""));
  EXPECT_FALSE(decode_probe_message("hello world, this is not a probe message at all"));
  auto value = encode_probe_message({{1, 1}, 5}, 64);
  EXPECT_FALSE(decode_probe_message(std::string_view(value).substr(0, kProbeHeaderBytes - 1)));
  value[0] = 'X';
  EXPECT_FALSE(decode_probe_message(value));
  EXPECT_FALSE(decode_probe_message(encode_probe_message({{1, 1}, 0}, 64)));  // no send time
}

ProbeReport sample_report() {
  ProbeReport r;
  r.run = 0x8000000000000001ull;
  r.started_ns = 100;
  r.drained_ns = 200;
  r.topic.known = true;
  r.topic.exists = true;
  r.topic.brokers = {0, 1, 2};
  PartitionInfo p;
  p.partition = 1;
  p.leader = 2;
  p.replicas = {2, 0};
  p.isr = {2};
  p.error = "replica_not_available";
  r.topic.partitions = {p};
  r.topic.problem = "broker 1 is the preferred leader of no partition";
  r.topic.uncovered_brokers = {1};
  r.sends = {{{r.run, 1}, 1, 2, 150}};
  r.acks = {{{r.run, 1}, 1, 150, 160, ""}, {{r.run, 2}, 1, 150, 190, "msg_timed_out"}};
  r.receipts = {{{r.run, 1}, 1, 150, 170}};
  r.commits = {{5, ""}, {7, "not_coordinator"}};
  r.dropped_events = 3;
  r.errors = {{ErrorKind::kProbeTopic, "t", "creating the probe topic failed"}};
  return r;
}

TEST(ProbeCodec, AReportRoundTrips) {
  auto r = sample_report();
  auto back = decode_probe_report(encode_probe_report(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& b = back.value();
  EXPECT_EQ(b.run, r.run);
  EXPECT_EQ(b.started_ns, 100);
  EXPECT_EQ(b.drained_ns, 200);
  EXPECT_TRUE(b.topic.known && b.topic.exists);
  EXPECT_EQ(b.topic.brokers, r.topic.brokers);
  ASSERT_EQ(b.topic.partitions.size(), 1u);
  EXPECT_EQ(b.topic.partitions[0].replicas, (std::vector<std::int32_t>{2, 0}));
  EXPECT_EQ(b.topic.partitions[0].error, "replica_not_available");
  EXPECT_EQ(b.topic.problem, r.topic.problem);
  EXPECT_EQ(b.topic.uncovered_brokers, r.topic.uncovered_brokers);
  ASSERT_EQ(b.sends.size(), 1u);
  EXPECT_EQ(b.sends[0].broker, 2);
  ASSERT_EQ(b.acks.size(), 2u);
  EXPECT_EQ(b.acks[1].error, "msg_timed_out");
  EXPECT_EQ(b.acks[1].acked_ns, 190);
  ASSERT_EQ(b.receipts.size(), 1u);
  EXPECT_EQ(b.receipts[0].received_ns, 170);
  ASSERT_EQ(b.commits.size(), 2u);
  EXPECT_EQ(b.commits[1].error, "not_coordinator");
  EXPECT_EQ(b.dropped_events, 3u);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].kind, ErrorKind::kProbeTopic);
}

TEST(ProbeCodec, EveryTruncationIsAnErrorNeverACrash) {
  auto bytes = encode_probe_report(sample_report());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_probe_report(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().kind, ErrorKind::kProtocol);
  }
  EXPECT_FALSE(decode_probe_report(bytes + "x").ok());
}

TEST(ProbeCodec, AHugeCountIsRefusedWithoutAllocating) {
  auto bytes = encode_probe_report(ProbeReport{});
  // The broker list's count sits right after the magic, three i64 and two flags.
  std::int64_t huge = std::int64_t{1} << 60;
  std::memcpy(bytes.data() + 4 + 24 + 2, &huge, 8);
  auto r = decode_probe_report(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kProtocol);
}

TEST(ProbeCodec, AWorkerErrorDecodesToThatError) {
  auto r =
      decode_probe_report(encode_error({ErrorKind::kConfig, "probe", "cannot create producer"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
  EXPECT_EQ(r.error().message, "cannot create producer");
}

}  // namespace
}  // namespace khe
