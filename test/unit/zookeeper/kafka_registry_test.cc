#include "khe/zookeeper/kafka_registry.h"

#include <gtest/gtest.h>

#include "captured.h"

#include <fstream>
#include <sstream>

namespace khe {
namespace {


TEST(KafkaRegistry, CapturedBrokerRegistration) {
  // /brokers/ids/0 of Kafka 3.6.1 as read with ZooKeeperMain.
  auto broker = parse_broker_registration(0, captured("kafka_broker_0.json"));
  ASSERT_TRUE(broker.ok()) << broker.error().message;
  EXPECT_EQ(broker->id, 0);
  EXPECT_EQ(broker->host, "127.0.0.1");
  EXPECT_EQ(broker->port, 28486);
}

TEST(KafkaRegistry, SecureOnlyBrokerUsesItsFirstEndpoint) {
  auto broker = parse_broker_registration(
      3,
      R"({"listener_security_protocol_map":{"SASL_SSL":"SASL_SSL"},"endpoints":["SASL_SSL://kafka-3.kafka:9093"],"jmx_port":-1,"host":null,"port":-1,"version":5})");
  ASSERT_TRUE(broker.ok()) << broker.error().message;
  EXPECT_EQ(broker->host, "kafka-3.kafka");
  EXPECT_EQ(broker->port, 9093);
  auto v6 =
      parse_broker_registration(4, R"({"endpoints":["SSL://[::1]:9094"],"host":null,"port":-1})");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
}

TEST(KafkaRegistry, GarbageIsAnError) {
  EXPECT_EQ(parse_broker_registration(1, "").error().message,
            "broker registration is not a JSON object");
  EXPECT_EQ(parse_broker_registration(1, "[1,2]").error().message,
            "broker registration is not a JSON object");
  EXPECT_EQ(parse_broker_registration(1, R"({"host":null,"port":-1,"endpoints":["nonsense"]})")
                .error()
                .message,
            "broker registration has neither host/port nor a usable endpoint");
  auto full = captured("kafka_broker_0.json");
  EXPECT_FALSE(parse_broker_registration(0, full.substr(0, full.size() / 2)).ok());
}

TEST(KafkaRegistry, ControllerAndEpoch) {
  EXPECT_EQ(parse_controller(captured("kafka_controller.json")).value(), 0);
  EXPECT_EQ(parse_controller(R"({"version":2})").error().message, "no integer brokerid");
  EXPECT_EQ(parse_controller("nope").error().message, "not a JSON object");
  EXPECT_EQ(parse_controller_epoch("12").value(), 12);
  EXPECT_EQ(parse_controller_epoch("12\n").value(), 12);
  EXPECT_EQ(parse_controller_epoch("").error().message, "not a number");
  EXPECT_EQ(parse_controller_epoch("1x").error().message, "not a number");
}

TEST(ZookeeperRegistrySource, NoSessionIsAnErrorValueWithinTheConnectTimeout) {
  // Nothing listens on port 1 of loopback: the client keeps retrying in its own threads, the
  // read gives up at connect_timeout, and closing the handle does not hang.
  ZookeeperOptions options;
  options.servers = {"127.0.0.1:1"};
  options.connect_timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  {
    auto source = make_zookeeper_registry_source(options);
    for (int poll = 0; poll < 2; ++poll) {
      auto result = source->read(std::chrono::steady_clock::now() + std::chrono::seconds(5));
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.error().kind, ErrorKind::kConnect);
      EXPECT_EQ(result.error().target, "127.0.0.1:1");
      EXPECT_NE(result.error().message.find("no ZooKeeper session within 300ms"), std::string::npos)
          << result.error().message;
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace khe
