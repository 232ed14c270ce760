#include "khe/jmx/object_name.h"

#include <gtest/gtest.h>

namespace khe::jmx {
namespace {

TEST(ObjectName, KeepsRegistrationOrder) {
  auto name = ObjectName::parse("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=orders");
  ASSERT_TRUE(name.ok()) << name.error().to_string();
  EXPECT_EQ(name->domain, "kafka.server");
  ASSERT_EQ(name->properties.size(), 3u);
  EXPECT_EQ(name->properties[0], (std::pair<std::string, std::string>{"type", "BrokerTopicMetrics"}));
  EXPECT_EQ(name->properties[2].second, "orders");
  EXPECT_EQ(name->to_string(), "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=orders");
}

TEST(ObjectName, QuotedValuesMayHoldCommasAndKeepTheirQuotes) {
  auto name = ObjectName::parse(R"(d:type="a,b=\"c\"",name=x)");
  ASSERT_TRUE(name.ok()) << name.error().to_string();
  ASSERT_EQ(name->properties.size(), 2u);
  EXPECT_EQ(name->properties[0].second, R"("a,b=\"c\"")");
}

TEST(ObjectName, RejectsMalformedNames) {
  for (const char* text : {"no-colon", "d:", "d:=v", "d:k", "d:k=\"open", "d:k=v,"}) {
    auto name = ObjectName::parse(text);
    EXPECT_FALSE(name.ok()) << text;
    if (!name.ok()) {
      EXPECT_EQ(name.error().kind, ErrorKind::kProtocol) << text;
    }
  }
}

TEST(ObjectNamePattern, MatchesLikeJmx) {
  auto name = ObjectName::parse("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=orders");
  ASSERT_TRUE(name.ok());
  struct Case {
    const char* pattern;
    bool matches;
  } cases[] = {
      {"*:*", true},
      {"kafka.*:*", true},
      {"kafka.serve?:*", true},
      {"kafka.server:type=BrokerTopicMetrics,*", true},
      {"kafka.server:name=MessagesInPerSec,type=BrokerTopicMetrics,*", true},  // order-free
      {"kafka.server:type=BrokerTopicMetrics", false},  // exact list, topic and name missing
      {"kafka.server:topic=orders,type=BrokerTopicMetrics,name=MessagesInPerSec", true},
      {"kafka.server:type=Broker*,name=*InPerSec,*", true},
      {"kafka.server:type=ReplicaManager,*", false},
      {"kafka.log:*", false},
      {"kafka.server:partition=*,*", false},
  };
  for (const auto& c : cases) {
    auto pattern = ObjectNamePattern::parse(c.pattern);
    ASSERT_TRUE(pattern.ok()) << c.pattern;
    EXPECT_EQ(pattern->matches(*name), c.matches) << c.pattern;
  }
}

TEST(ObjectNamePattern, RejectsNonPatterns) {
  for (const char* text : {"kafka.server", "kafka.server:", "d:k"}) {
    auto pattern = ObjectNamePattern::parse(text);
    EXPECT_FALSE(pattern.ok()) << text;
    if (!pattern.ok()) {
      EXPECT_EQ(pattern.error().kind, ErrorKind::kConfig);
    }
  }
}

TEST(WildcardMatch, BacktracksOverStars) {
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(wildcard_match("??", "ab"));
  EXPECT_FALSE(wildcard_match("?", ""));
}

}  // namespace
}  // namespace khe::jmx
