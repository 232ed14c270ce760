// The read planner: tight for the usual Kafka rules styles, never reading less than the rules
// can match.
#include "khe/jmx/rules_planner.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include "../../oracle/bean_spec.h"
#include "khe/jmx/jmx_rules.h"
#include "khe/metrics/text_format.h"

namespace khe::jmx {

void PrintTo(const PlannedRead& read, std::ostream* os) {
  *os << "{" << read.mbean << " [";
  for (const auto& a : read.attributes) *os << a << " ";
  *os << "]}";
}

namespace {

std::vector<PlannedRead> plan(const std::string& yaml) {
  auto rules = JmxRules::parse(yaml, "plan.yaml");
  EXPECT_TRUE(rules.ok()) << rules.error().to_string();
  return rules ? rules->plan() : std::vector<PlannedRead>{};
}

std::vector<PlannedRead> plan_of_pattern(const std::string& pattern,
                                         const std::string& extra = "") {
  return plan("rules:\n- pattern: '" + pattern + "'\n  name: x\n" + extra);
}

using Reads = std::vector<PlannedRead>;
using Attrs = std::vector<std::string>;

TEST(RulesPlanner, DomainsAttributesAndTheUnanchoredStart) {
  // The brief's example: kafka.server beans' Count, whatever the properties.
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+), name=(.+)PerSec\\w*><>Count"),
            (Reads{{"*kafka?server:type=*,name=*,*", {"Count"}}}));
  // Regex '.' is one character, a group of \w+ any run; ^ pins the start of the domain.
  EXPECT_EQ(plan_of_pattern("kafka.(\\w+)<type=(.+), name=(.+)><>Value"),
            (Reads{{"*kafka?*:type=*,name=*,*", {"Value"}}}));
  EXPECT_EQ(plan_of_pattern("^kafka\\.server<type=ReplicaManager, name=(\\w+)><>Value"),
            (Reads{{"kafka.server:type=ReplicaManager,name=*,*", {"Value"}}}));
  EXPECT_EQ(plan_of_pattern("[kK]afka.server<type=X><>Value"),
            (Reads{{"*?afka?server:type=X,*", {"Value"}}}));
}

TEST(RulesPlanner, AttributeNames) {
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+), name=(.+)><>(Count|Value)"),
            (Reads{{"*kafka?server:type=*,name=*,*", {"Count", "Value"}}}));
  // Unterminated: jmx_exporter also matches longer names; the known ones are read too.
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+), name=(.+)><>Mean"),
            (Reads{{"*kafka?server:type=*,name=*,*", {"Mean", "MeanRate"}}}));
  EXPECT_EQ(plan_of_pattern("java.lang<type=MemoryPool, name=(.+)><>CollectionUsage"),
            (Reads{{"*java?lang:type=MemoryPool,name=*,*",
                    {"CollectionUsage", "CollectionUsageThreshold", "CollectionUsageThresholdCount",
                     "CollectionUsageThresholdExceeded", "CollectionUsageThresholdSupported"}}}));
  // ':' ends the name: exactly that attribute, known or not.
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+)><>MyOwnCount:"),
            (Reads{{"*kafka?server:type=*,*", {"MyOwnCount"}}}));
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+)><>MyOwnCount"),
            (Reads{{"*kafka?server:type=*,*", {"MyOwnCount"}}}));
  // Yammer percentiles by pattern.
  EXPECT_EQ(plan_of_pattern("kafka.network<type=(.+), name=(.+)><>(\\d+)thPercentile"),
            (Reads{{"*kafka?network:type=*,name=*,*",
                    {"50thPercentile", "75thPercentile", "95thPercentile", "98thPercentile",
                     "999thPercentile", "99thPercentile"}}}));
  // Kafka's own metrics have lower-case, open-ended names: every attribute.
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+), client-id=(.+)><>([a-z-]+)"),
            (Reads{{"*kafka?server:type=*,client-id=*,*", {}}}));
  EXPECT_EQ(
      plan_of_pattern("kafka.server<type=socket-server-metrics, listener=(.+)><>connection-count"),
      (Reads{{"*kafka?server:type=socket-server-metrics,listener=*,*", {}}}));
  EXPECT_EQ(plan_of_pattern("kafka.server<type=(.+)><>(.+)"),
            (Reads{{"*kafka?server:type=*,*", {}}}));
  // Composite data: the attribute is the key.
  EXPECT_EQ(plan_of_pattern("java.lang<type=Memory><HeapMemoryUsage>used"),
            (Reads{{"*java?lang:type=Memory,*", {"HeapMemoryUsage"}}}));
  EXPECT_EQ(plan_of_pattern("java.lang<type=Memory><(\\w+)>used"),
            (Reads{{"*java?lang:type=Memory,*", {}}}));
  // attrNameSnakeCase puts snake_case names in the match string: no way back to the real ones.
  EXPECT_EQ(plan("rules:\n- pattern: 'kafka.server<type=X><>one_minute_rate'\n  attrNameSnakeCase: "
                 "true\n"),
            (Reads{{"*kafka?server:type=X,*", {}}}));
}

TEST(RulesPlanner, KeyProperties) {
  // A literal value ends at ", ".
  EXPECT_EQ(
      plan_of_pattern("kafka.server<type=BrokerTopicMetrics, name=Bytes(\\w+), topic=(.+)><>Count"),
      (Reads{{"*kafka?server:type=BrokerTopicMetrics,name=Bytes*,topic=*,*", {"Count"}}}));
  // (.+) can run across ", ": later properties are only known from a ", key=" literal; one
  // that ends at '>' is the last property, so its value is exact.
  EXPECT_EQ(plan_of_pattern("kafka.log<type=Log, name=(.+), partition=0><>Value"),
            (Reads{{"*kafka?log:type=Log,name=*,partition=0,*", {"Value"}}}));
  EXPECT_EQ(plan_of_pattern("kafka.log<type=(.+)Log, name=Size><>Value"),
            (Reads{{"*kafka?log:type=*,name=Size,*", {"Value"}}}));
  EXPECT_EQ(plan_of_pattern("kafka.log<type=Log, name=(.+), partition=0(.*)><>Value"),
            (Reads{{"*kafka?log:type=Log,name=*,partition=0*,*", {"Value"}}}));
  // Not (.+): a value that cannot hold ',' keeps the properties after it in place.
  EXPECT_EQ(plan_of_pattern("kafka.log<type=([^,]+), name=S(\\w)ze><>Value"),
            (Reads{{"*kafka?log:type=*,name=S?ze,*", {"Value"}}}));
  // Unknown keys are not constraints.
  EXPECT_EQ(plan_of_pattern("kafka.(\\w+)<type=(.+), name=(.+), (.+)=(.+)><>Value"),
            (Reads{{"*kafka?*:type=*,name=*,*", {"Value"}}}));
}

TEST(RulesPlanner, WidensWhenItCannotPlace) {
  EXPECT_EQ(plan("rules:\n- pattern: '.*'\n"), (Reads{{"*:*", {}}}));
  EXPECT_EQ(plan("---\n"), (Reads{{"*:*", {}}}));
  EXPECT_EQ(plan("rules:\n- {}\n"), (Reads{{"*:*", {}}}));
  EXPECT_EQ(plan_of_pattern("(?i)kafka.server<type=X><>Count"), (Reads{{"*:*", {}}}));
  EXPECT_EQ(plan_of_pattern("Count"), (Reads{{"*:*", {}}}));
  // The pattern may start in the middle of the properties: no domain, no first property.
  EXPECT_EQ(plan_of_pattern("name=(.+)><>Value"), (Reads{{"*:*", {"Value"}}}));
  // ... but the '<' before "><" can only be the one after the domain.
  EXPECT_EQ(plan_of_pattern("<type=Memory><HeapMemoryUsage>"),
            (Reads{{"*:type=Memory,*", {"HeapMemoryUsage"}}}));
  // Characters JMX refuses in names (one bad ObjectName fails the whole bulk read) widen.
  EXPECT_EQ(plan_of_pattern("kafka\\tserver<type=a\\nb><>Value"),
            (Reads{{"*kafka?server:type=*,*", {"Value"}}}));
  // A ')' that breaks out of jmx_exporter's wrapper: nothing to reason about.
  EXPECT_EQ(plan_of_pattern("a)(b"), (Reads{{"*:*", {}}}));
}

TEST(RulesPlanner, AlternationsBecomeSeparateReads) {
  EXPECT_EQ(plan_of_pattern("kafka.(server|network)<type=(Foo|Bar)><>Value"),
            (Reads{{"*kafka?server:type=Foo,*", {"Value"}},
                   {"*kafka?server:type=Bar,*", {"Value"}},
                   {"*kafka?network:type=Foo,*", {"Value"}},
                   {"*kafka?network:type=Bar,*", {"Value"}}}));
  EXPECT_EQ(plan_of_pattern("kafka.server<type=A><>Value|java.lang<type=B><>Count"),
            (Reads{{"*kafka?server:type=A,*", {"Value"}}, {"*java?lang:type=B,*", {"Count"}}}));
}

TEST(RulesPlanner, MergesAndDropsCoveredReads) {
  auto reads = plan(
      "rules:\n"
      "- {pattern: 'kafka.server<type=X, name=(.+)><>Value', name: a}\n"
      "- {pattern: 'kafka.server<type=X, name=(.+)><>Count', name: b}\n"
      "- {pattern: 'kafka.server<type=(.+)><>(.+)', name: c}\n"
      "- {pattern: 'kafka.server<type=Y><>(.+)', name: d}\n");
  EXPECT_EQ(reads, (Reads{{"*kafka?server:type=*,*", {}}}));
  reads = plan(
      "rules:\n"
      "- {pattern: 'kafka.server<type=X, name=(.+)><>Value', name: a}\n"
      "- {pattern: 'kafka.server<type=X, name=(.+)><>Count', name: b}\n");
  EXPECT_EQ(reads, (Reads{{"*kafka?server:type=X,name=*,*", {"Count", "Value"}}}));
}

TEST(RulesPlanner, IncludesAndExcludes) {
  // Includes narrow the domain to their own; a disjoint include gives no read.
  EXPECT_EQ(plan("includeObjectNames: ['kafka.server:type=BrokerTopicMetrics,*', 'java.lang:*']\n"
                 "rules:\n- {pattern: 'kafka.server<type=(.+), name=(.+)><>Count', name: x}\n"),
            (Reads{{"kafka.server:type=BrokerTopicMetrics,name=*,*", {"Count"}}}));
  EXPECT_EQ(plan("includeObjectNames: ['kafka.*:type=ReplicaManager,*']\n---\n"),
            (Reads{{"kafka.*:type=ReplicaManager,*", {}}}));
  // An include without ",*" names exactly the keys a bean has.
  EXPECT_EQ(plan("includeObjectNames: ['kafka.server:type=ReplicaManager,name=*']\n"
                 "rules:\n- {pattern: 'kafka.server<type=(.+), name=(.+), topic=(.+)><>Value', "
                 "name: x}\n"),
            Reads{});
  // A read an exclude covers entirely is left out (includes() filters the rest).
  EXPECT_EQ(plan("excludeObjectNames: ['kafka.log:*']\n"
                 "includeObjectNames: ['kafka.log:*', 'kafka.server:*']\n---\n"),
            (Reads{{"kafka.server:*", {}}}));
}

TEST(RulesPlanner, CommunityRulesStyles) {
  // Confluent cp-helm-charts: a whitelist, one rule per bean family.
  EXPECT_EQ(plan("lowercaseOutputName: true\nwhitelistObjectNames:\n"
                 "- kafka.server:type=ReplicaManager,name=*\n"
                 "- kafka.controller:type=KafkaController,name=*\n"
                 "- kafka.server:type=BrokerTopicMetrics,name=*\n"
                 "rules:\n"
                 "- pattern : kafka.server<type=ReplicaManager, name=(.+)><>(Value|OneMinuteRate)\n"
                 "  name: cp_kafka_server_replicamanager_$1\n"
                 "- pattern : kafka.controller<type=KafkaController, name=(.+)><>Value\n"
                 "  name: cp_kafka_controller_kafkacontroller_$1\n"
                 "- pattern : kafka.server<type=BrokerTopicMetrics, name=(.+)><>OneMinuteRate\n"
                 "  name: cp_kafka_server_brokertopicmetrics_$1\n"),
            (Reads{{"kafka.server:type=ReplicaManager,name=*,*", {"OneMinuteRate", "Value"}},
                   {"kafka.controller:type=KafkaController,name=*,*", {"Value"}},
                   {"kafka.server:type=BrokerTopicMetrics,name=*,*", {"OneMinuteRate"}}}));
  // jmx_exporter's kafka-2_0_0.yml style and Strimzi's: see the files under test/data.
  auto rules_file = [](const char* name) {
    auto rules = JmxRules::load_file(std::string(KHE_TEST_DATA) + "/jmx/oracle/rules/" + name);
    EXPECT_TRUE(rules.ok());
    return rules ? rules->plan() : Reads{};
  };
  EXPECT_EQ(rules_file("kafka-2_0_0-style.yaml"),
            (Reads{{"*kafka?*:type=*,name=*,*",
                    {"50thPercentile", "75thPercentile", "95thPercentile", "98thPercentile",
                     "999thPercentile", "99thPercentile", "Count", "Value"}},
                   {"*kafka?server:type=*,client-id=*,*", {}}}));
  EXPECT_EQ(rules_file("strimzi-style.yaml"),
            (Reads{{"*kafka?server:type=*,listener=*,networkProcessor=*,*", {}},
                   {"*kafka?*:type=*,name=*,*",
                    {"50thPercentile", "75thPercentile", "95thPercentile", "98thPercentile",
                     "999thPercentile", "99thPercentile", "Count", "MeanRate", "Value"}},
                   {"*kafka?server:type=raft-metrics,*", {}}}));
}

// Soundness on data: for every rules file of the oracle suite, the rules see the same series
// whether they get every leaf of the spec or only the leaves the plan reads.
TEST(RulesPlanner, ThePlanFeedsEverySeriesOfTheOracleRules) {
  const std::string dir = std::string(KHE_TEST_DATA) + "/jmx/oracle/rules/";
  DIR* d = opendir(dir.c_str());
  ASSERT_NE(d, nullptr);
  std::vector<std::string> files;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".yaml") files.push_back(n);
  }
  closedir(d);
  ASSERT_GT(files.size(), 5u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    std::ifstream in(dir + file);
    std::string first;
    std::getline(in, first);
    ASSERT_EQ(first.rfind("# spec: ", 0), 0u);
    auto spec = testing::read_bean_spec(std::string(KHE_TEST_DATA) + "/jmx/oracle/beans/" +
                                        first.substr(8));
    ASSERT_TRUE(spec.ok()) << spec.error().to_string();
    auto rules = JmxRules::load_file(dir + file);
    ASSERT_TRUE(rules.ok()) << rules.error().to_string();
    auto coverage = PlanCoverage::create(rules->plan());
    ASSERT_TRUE(coverage.ok()) << coverage.error().to_string();
    FamilyBuilder all, planned;
    std::size_t read_leaves = 0;
    for (const auto& leaf : spec->leaves) {
      const ObjectName& bean = spec->beans[leaf.bean];
      if (!rules->includes(bean)) continue;
      rules->apply(spec->leaf(leaf), all);
      if (!coverage->reads(bean, leaf.top_attribute())) continue;
      ++read_leaves;
      rules->apply(spec->leaf(leaf), planned);
    }
    std::string expected, got;
    render_text(std::move(all).take(), expected);
    render_text(std::move(planned).take(), got);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(got, expected);
  }
}

TEST(WildcardCovers, ComparesJmxWildcards) {
  EXPECT_TRUE(wildcard_covers("*", "kafka.server"));
  EXPECT_TRUE(wildcard_covers("*", "*kafka?server"));
  EXPECT_TRUE(wildcard_covers("*kafka?*", "*kafka?server"));
  EXPECT_TRUE(wildcard_covers("kafka.*", "kafka.server"));
  EXPECT_TRUE(wildcard_covers("kafka?server", "kafka.server"));
  EXPECT_TRUE(wildcard_covers("a?c", "a?c"));
  EXPECT_FALSE(wildcard_covers("?", "*"));
  EXPECT_FALSE(wildcard_covers("kafka.server", "*kafka?server"));
  EXPECT_FALSE(wildcard_covers("kafka?server", "kafka*server"));
  EXPECT_FALSE(wildcard_covers("*kafka?server", "*kafka?*"));
  EXPECT_FALSE(wildcard_covers("abc", "abd"));
  EXPECT_TRUE(wildcard_covers("", ""));
  EXPECT_FALSE(wildcard_covers("", "a"));
}

}  // namespace
}  // namespace khe::jmx
