#include "khe/kafka/view_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace khe {
namespace {

GatheredView sample() {
  GatheredView g;
  auto& v = g.view;
  v.metadata.brokers = {{1, "b1", 9092}, {2, "b2", 9093}};
  v.metadata.controller_id = 2;
  v.metadata.topics.push_back({"orders", false, {{0, 1, {1, 2}, {1}, ""}, {1, -1, {2}, {}, "leader_not_available"}}});
  v.metadata.topics.push_back({"__consumer_offsets", true, {}});
  v.watermarks[{"orders", 0}] = {3, 1'000'000'000'000};
  v.partition_errors[{"orders", 1}] = "no_leader";
  ClusterView::Group g1;
  g1.group = "app";
  GroupDescription d{"app", "Stable", "range", "consumer", 1, {}};
  d.members.push_back({"c-1", "client", "10.0.0.1", {{"orders", 0}}});
  g1.description = d;
  g1.committed[{"orders", 0}] = 42;
  ClusterView::Group g2;
  g2.group = "simple";
  g2.committed[{"orders", 1}] = 7;
  v.groups = {g1, g2};
  v.record_timestamps_ms[{{"orders", 0}, 42}] = 1'795'000'000'123;
  g.errors.push_back({ErrorKind::kTimeout, "broker 3", "late"});
  return g;
}

TEST(ViewCodec, RoundTripsEveryField) {
  auto original = sample();
  auto decoded = decode_view(encode_view(original));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  const auto& v = decoded->view;
  EXPECT_EQ(v.metadata.brokers.size(), 2u);
  EXPECT_EQ(v.metadata.brokers[1].host, "b2");
  EXPECT_EQ(v.metadata.brokers[1].port, 9093);
  EXPECT_EQ(v.metadata.controller_id, 2);
  ASSERT_EQ(v.metadata.topics.size(), 2u);
  EXPECT_TRUE(v.metadata.topics[1].internal);
  EXPECT_EQ(v.metadata.topics[0].partitions[1].error, "leader_not_available");
  EXPECT_EQ(v.metadata.topics[0].partitions[0].replicas, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(v.watermarks.at({"orders", 0}).latest, 1'000'000'000'000);
  EXPECT_EQ(v.partition_errors.at({"orders", 1}), "no_leader");
  ASSERT_EQ(v.groups.size(), 2u);
  ASSERT_TRUE(v.groups[0].description);
  EXPECT_EQ(v.groups[0].description->members[0].assignment[0].topic, "orders");
  EXPECT_FALSE(v.groups[1].description);
  EXPECT_EQ(v.groups[1].committed.at({"orders", 1}), 7);
  EXPECT_EQ(v.record_timestamps_ms.at({{"orders", 0}, 42}), 1'795'000'000'123);
  ASSERT_EQ(decoded->errors.size(), 1u);
  EXPECT_EQ(decoded->errors[0].kind, ErrorKind::kTimeout);
  EXPECT_EQ(decoded->errors[0].message, "late");
}

TEST(ViewCodec, ErrorsTravelToo) {
  auto decoded = decode_view(encode_error({ErrorKind::kConnect, "b:1", "refused"}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, ErrorKind::kConnect);
  EXPECT_EQ(decoded.error().message, "refused");
}

TEST(ViewCodec, EveryTruncationIsAnErrorNotACrash) {
  auto bytes = encode_view(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = decode_view(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded.ok()) << n;
    EXPECT_EQ(decoded.error().kind, ErrorKind::kProtocol);
  }
}

TEST(ViewCodec, CorruptBytesAreAnErrorNotACrash) {
  auto bytes = encode_view(sample());
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string corrupt = bytes;
    for (int k = 0; k < 3; ++k) corrupt[rng() % corrupt.size()] = static_cast<char>(rng());
    (void)decode_view(corrupt);  // must not crash, hang or allocate without bound
  }
  std::string huge_count = "KHV1" + std::string(8, '\x7f');
  EXPECT_FALSE(decode_view(huge_count).ok());
}

}  // namespace
}  // namespace khe
