#include "khe/core/regex_filter.h"

#include <gtest/gtest.h>

namespace khe {
namespace {

TEST(NameFilter, EmptyAllowListAllowsEverything) {
  NameFilter filter;
  EXPECT_TRUE(filter.allows("orders"));
  EXPECT_TRUE(filter.allows(""));
}

TEST(NameFilter, PatternsMatchTheWholeName) {
  auto filter = NameFilter::create({"orders"}, {});
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->allows("orders"));
  EXPECT_FALSE(filter->allows("orders-dlq"));
  EXPECT_FALSE(filter->allows("old-orders"));
}

TEST(NameFilter, AlternationStaysWhole) {
  auto filter = NameFilter::create({"a|b"}, {});
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->allows("a"));
  EXPECT_TRUE(filter->allows("b"));
  EXPECT_FALSE(filter->allows("ab"));
}

TEST(NameFilter, DenyWinsOverAllow) {
  auto filter = NameFilter::create({"llm-.*"}, {".*-dlq", "llm-internal"});
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->allows("llm-events"));
  EXPECT_FALSE(filter->allows("llm-events-dlq"));
  EXPECT_FALSE(filter->allows("llm-internal"));
  EXPECT_FALSE(filter->allows("other"));
}

TEST(NameFilter, JavaStyleConstructsWork) {
  auto filter = NameFilter::create({"(?i)ORDERS\\d+", "[a-z]+(?=-x)-x"}, {});
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->allows("orders12"));
  EXPECT_TRUE(filter->allows("abc-x"));
}

TEST(NameFilter, InvalidPatternIsAConfigErrorNamingThePattern) {
  auto filter = NameFilter::create({"orders("}, {});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.error().kind, ErrorKind::kConfig);
  EXPECT_EQ(filter.error().target, "orders(");
  EXPECT_NE(filter.error().message.find("invalid regular expression"), std::string::npos);
}

}  // namespace
}  // namespace khe
