// The rules engine against jmx_exporter 0.20.0's behaviour. Expected outputs come from
// jmx_exporter itself: its JmxCollectorTest (the Hadoop, Cassandra and Camel beans below are
// the ones it registers) and runs of its JmxCollector on the same MBeans
// (test/oracle/jmx_rules_oracle.py checks whole files the same way).
#include "khe/jmx/jmx_rules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include "khe/metrics/text_format.h"

namespace khe::jmx {
namespace {

struct Leaf {
  std::string bean;
  std::string attr;
  LeafValue::Kind kind = LeafValue::Kind::kNumber;
  double number = 0;
  std::string text;
  std::vector<std::string> keys;
};

Leaf num(std::string bean, std::string attr, double v, std::string text) {
  return {std::move(bean), std::move(attr), LeafValue::Kind::kNumber, v, std::move(text), {}};
}
Leaf boolean(std::string bean, std::string attr, bool v) {
  return {std::move(bean), std::move(attr),      LeafValue::Kind::kBoolean,
          v ? 1.0 : 0.0,   v ? "true" : "false", {}};
}
Leaf str(std::string bean, std::string attr, std::string v) {
  return {std::move(bean), std::move(attr), LeafValue::Kind::kString, 0, std::move(v), {}};
}
Leaf null(std::string bean, std::string attr) {
  return {std::move(bean), std::move(attr), LeafValue::Kind::kNull, 0, "null", {}};
}
Leaf item(std::string bean, std::vector<std::string> keys, std::string attr, double v,
          std::string text) {
  return {std::move(bean), std::move(attr), LeafValue::Kind::kNumber, v,
          std::move(text), std::move(keys)};
}

// The beans jmx_exporter's JmxCollectorTest registers, as leaves.
const Leaf kHadoop = num("hadoop:service=DataNode,name=DataNodeActivity-ams-hdd001-50010",
                         "replaceBlockOpMinTime", 200, "200");

JmxRules load(const std::string& yaml, CounterNaming naming = CounterNaming::kJmxExporter020) {
  auto rules = JmxRules::parse(yaml, "test.yaml", naming);
  EXPECT_TRUE(rules.ok()) << rules.error().to_string();
  if (!rules) return std::move(JmxRules::parse("rules: []", "empty")).value();
  return std::move(rules).value();
}

std::string load_error(const std::string& yaml) {
  auto rules = JmxRules::parse(yaml, "rules.yaml");
  if (rules) return "";
  EXPECT_EQ(rules.error().kind, ErrorKind::kConfig);
  return rules.error().message;
}

void apply(const JmxRules& rules, const Leaf& leaf, FamilyBuilder& out) {
  auto name = ObjectName::parse(leaf.bean);
  ASSERT_TRUE(name.ok()) << leaf.bean;
  if (!rules.includes(*name)) return;
  BeanLeaf bean{name->domain, name->properties, leaf.keys, leaf.attr,
                LeafValue{leaf.kind, leaf.number, leaf.text}};
  rules.apply(bean, out);
}

std::vector<Family> run(const JmxRules& rules, const std::vector<Leaf>& leaves) {
  FamilyBuilder out;
  for (const auto& leaf : leaves) apply(rules, leaf, out);
  return std::move(out).take();
}

const Family* family(const std::vector<Family>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The value of the sample `name{labels}` (labels not listed must be empty), or nullopt.
std::optional<double> value(const std::vector<Family>& families, const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) {
  const Family* f = family(families, name);
  if (!f) return std::nullopt;
  for (const auto& sample : f->samples) {
    bool same = true;
    for (std::size_t i = 0; i < f->label_names.size(); ++i) {
      auto it = labels.find(f->label_names[i]);
      const std::string& have = sample.label_values[i];
      if (it == labels.end() ? !have.empty() : have != it->second) same = false;
    }
    for (const auto& [k, v] : labels) {
      if (std::find(f->label_names.begin(), f->label_names.end(), k) == f->label_names.end())
        same = false;
    }
    if (same) return sample.value;
  }
  return std::nullopt;
}

std::size_t total_samples(const std::vector<Family>& families) {
  std::size_t n = 0;
  for (const auto& f : families) n += f.samples.size();
  return n;
}

// --- loading -----------------------------------------------------------------------------------

TEST(JmxRulesLoad, AnEmptyFileIsTheDefaultRule) {
  for (const char* yaml : {"", "---\n", "lowercaseOutputName: false\n"}) {
    auto rules = load(yaml);
    EXPECT_EQ(rules.rule_count(), 1u);
    auto families = run(rules, {kHadoop});
    EXPECT_EQ(value(families, "hadoop_DataNode_replaceBlockOpMinTime",
                    {{"name", "DataNodeActivity-ams-hdd001-50010"}}),
              200);
  }
}

TEST(JmxRulesLoad, AnEmptyRulesListMatchesNothing) {
  auto rules = load("rules: []\n");
  EXPECT_EQ(rules.rule_count(), 0u);
  EXPECT_EQ(total_samples(run(rules, {kHadoop})), 0u);
}

TEST(JmxRulesLoad, UnknownKeysAreErrorsWithFileAndLine) {
  EXPECT_EQ(load_error("lowercaseOutputName: true\nlowercaseOutputNames: true\n").substr(0, 43),
            "rules.yaml:2: lowercaseOutputNames: unknown");
  EXPECT_EQ(load_error("rules:\n  - pattern: x\n    nmae: y\n").substr(0, 36),
            "rules.yaml:3: rules[0].nmae: unknown");
}

TEST(JmxRulesLoad, ConnectionKeysAreAcceptedAndReportedAsIgnored) {
  auto rules = load(
      "hostPort: localhost:1234\nusername: u\npassword: p\nssl: false\nstartDelaySeconds: 5\n"
      "httpServer:\n  threads: {minimum: 1}\ncacheRules: true\nautoExcludeObjectNameAttributes: "
      "true\n"
      "rules: [{pattern: x}]\n");
  EXPECT_EQ(
      rules.ignored_keys(),
      (std::vector<std::string>{"hostPort", "username", "password", "ssl", "startDelaySeconds",
                                "httpServer", "cacheRules", "autoExcludeObjectNameAttributes"}));
  EXPECT_NE(load_error("hostPort: a:1\njmxUrl: service:jmx:x\n"), "");
  EXPECT_NE(load_error("ssl: maybe\n"), "");
  EXPECT_NE(load_error("startDelaySeconds: soon\n"), "");
}

TEST(JmxRulesLoad, RulesAreValidatedAsJmxExporterDoes) {
  // JmxCollectorTest: testRulesMustHaveNameWithHelp / ...WithLabels / ...PatternWithName.
  EXPECT_NE(load_error("rules:\n- help: foo\n").find("must have a name"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- labels: {}\n").find("must have a name"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- name: foo\n").find("must have a pattern"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- value: 1\n").find("must have a pattern"), std::string::npos);
  // A rule without pattern and name is jmx_exporter's catch-all default rule.
  EXPECT_EQ(load_error("rules:\n- {}\n"), "");
  EXPECT_EQ(load_error("rules:\n- type: GAUGE\n  valueFactor: 2\n"), "");
}

TEST(JmxRulesLoad, BadValuesAreClearErrors) {
  EXPECT_EQ(load_error("rules:\n- pattern: 'a(b'\n").substr(0, 37),
            "rules.yaml:2: rules[0].pattern: inval");
  EXPECT_NE(load_error("rules:\n- pattern: a\n  type: gauge\n").find("unknown type 'gauge'"),
            std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: a\n  type: ~\n"), "");
  EXPECT_NE(load_error("rules:\n- pattern: a\n  valueFactor: 1/1000\n").find("must be a number"),
            std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: a\n  valueFactor: ~\n"), "");
  EXPECT_NE(load_error("lowercaseOutputName: 'true'\n").find("true or false"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: a\n  cache: 1\n"), "");
  EXPECT_NE(load_error("rules:\n- pattern: a\n  name: 123\n").find("quote it"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: a\n  name: x\n  labels: {a: 1}\n").find("quote it"),
            std::string::npos);
  EXPECT_NE(
      load_error("rules:\n- pattern: a\n  name: x\n  labels: {a: }\n").find("must not be empty"),
      std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: a\n  name: x\n  labels: [a]\n"), "");
  EXPECT_NE(load_error("rules:\n- pattern: (a)\n  name: x_$2\n").find("No group 2"),
            std::string::npos);
  EXPECT_NE(load_error("rules:\n- pattern: (a)\n  name: x\n  help: costs $ 5\n").find("group"),
            std::string::npos);
  EXPECT_NE(load_error("rules: {pattern: a}\n").find("list of rules"), std::string::npos);
  EXPECT_NE(load_error("rules:\n- just a string\n").find("mapping"), std::string::npos);
  EXPECT_NE(load_error("- a\n- b\n").find("mapping"), std::string::npos);
  EXPECT_NE(load_error("includeObjectNames: [\"kafka.server\"]\n").find("includeObjectNames[0]"),
            std::string::npos);
  EXPECT_NE(load_error("includeObjectNames: kafka.server:*\n"), "");
  EXPECT_NE(load_error("excludeObjectNameAttributes: {\"a:b=c\": Count}\n"), "");
  EXPECT_EQ(load_error("rules:\n  - pattern: [\n").substr(0, 27), "rules.yaml:3: invalid YAML:");
  EXPECT_EQ(load_error("rules: []\nlowercaseOutputName: true\nrules: []\n"),
            "rules.yaml:3: rules: repeated key");
  EXPECT_EQ(load_error("rules:\n- pattern: a\n  pattern: b\n"),
            "rules.yaml:3: rules[0].pattern: repeated key");
}

TEST(JmxRulesLoad, YamlScalarsAreReadAsSnakeYamlReadsThem) {
  // YAML 1.1: yes/on are booleans, 0x10 and 0o-style 010 are ints, 1_000 is 1000, 1:30 is 90.
  auto rules = load(
      "lowercaseOutputName: yes\nrules:\n"
      "- {pattern: 'replaceBlockOpMinTime', name: a, valueFactor: 0x10}\n");
  EXPECT_TRUE(rules.lowercase_output_name());
  EXPECT_EQ(value(run(rules, {kHadoop}), "a"), 3200);
  auto factors = [](const std::string& factor) {
    auto r = load("rules:\n- {pattern: 'replaceBlockOpMinTime', name: a, valueFactor: " + factor +
                  "}\n");
    return value(run(r, {kHadoop}), "a");
  };
  EXPECT_EQ(factors("010"), 1600);
  EXPECT_EQ(factors("1_000"), 200000);
  EXPECT_EQ(factors("1:30"), 18000);
  EXPECT_EQ(factors("0.5"), 100);
  EXPECT_EQ(factors("'0.5'"), 100);
  EXPECT_NEAR(*factors("1e-3"), 0.2, 1e-12);
  auto values = [](const std::string& v) {
    auto r = load("rules:\n- {pattern: 'replaceBlockOpMinTime', name: a, value: " + v + "}\n");
    return value(run(r, {kHadoop}), "a");
  };
  EXPECT_EQ(values("0x10"), 16);
  EXPECT_EQ(values("'0x10'"), std::nullopt);  // a string: Double.valueOf("0x10") fails
  EXPECT_EQ(values("true"), std::nullopt);    // "true" is not a number either
  EXPECT_EQ(values("~"), std::nullopt);       // "null"
  EXPECT_EQ(values("''"), 200);               // empty: no value template at all
}

TEST(JmxRulesLoad, MissingFileIsAConfigError) {
  auto rules = JmxRules::load_file("/nonexistent/rules.yaml");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().kind, ErrorKind::kConfig);
  EXPECT_NE(rules.error().message.find("cannot read"), std::string::npos);
}

TEST(JmxRulesLoad, LoadsTheConformanceRulesFiles) {
  for (const char* file : {"default-naming.yaml", "labels-factor-type.yaml"}) {
    auto rules = JmxRules::load_file(std::string(KHE_TEST_DATA) + "/jmx/rules/" + file);
    ASSERT_TRUE(rules.ok()) << rules.error().to_string();
    EXPECT_GT(rules->rule_count(), 3u);
    EXPECT_FALSE(rules->plan().empty());
  }
}

// --- matching: JmxCollectorTest ----------------------------------------------------------------

TEST(JmxRulesApply, NameIsReplacedOnMatch) {
  auto rules = load(
      "rules:\n- pattern: "
      "'^hadoop<service=DataNode, "
      "name=DataNodeActivity-ams-hdd001-50010><>replaceBlockOpMinTime:'\n  name: foo\n");
  EXPECT_EQ(value(run(rules, {kHadoop}), "foo"), 200);
}

TEST(JmxRulesApply, SnakeCaseAttributeNames) {
  auto rules = load(
      "rules:\n- pattern: "
      "'^hadoop<service=DataNode, "
      "name=DataNodeActivity-ams-hdd001-50010><>replace_block_op_min_time:'\n"
      "  name: foo\n  attrNameSnakeCase: true\n");
  EXPECT_EQ(value(run(rules, {kHadoop}), "foo"), 200);
  // toSnakeAndLowerCase: no '_' inside runs of capitals or after '_'.
  auto snake = load("rules:\n- pattern: '<>(.+):'\n  name: $1\n  attrNameSnakeCase: true\n");
  auto families =
      run(snake, {num("x:a=b", "HTTPRequestCount", 1, "1"), num("x:a=b", "already_Snake", 2, "2"),
                  num("x:a=b", "camelCase2Name", 3, "3")});
  EXPECT_EQ(value(families, "httprequest_count"), 1);
  EXPECT_EQ(value(families, "already_snake"), 2);
  EXPECT_EQ(value(families, "camel_case2_name"), 3);
}

TEST(JmxRulesApply, LabelsEmptyLabelsAndLowercasing) {
  const std::string pattern =
      "- pattern: '^hadoop<service=DataNode, "
      "name=DataNodeActivity-ams-hdd001-50010><>replaceBlockOpMinTime:'\n";
  EXPECT_EQ(value(run(load("rules:\n" + pattern + "  name: foo\n  labels:\n    l: v\n"), {kHadoop}),
                  "foo", {{"l", "v"}}),
            200);
  EXPECT_EQ(value(run(load("rules:\n" + pattern + "  name: foo\n  labels:\n    '': v\n    l: ''\n"),
                      {kHadoop}),
                  "foo"),
            200);
  EXPECT_EQ(
      value(run(load("lowercaseOutputName: true\nrules:\n" + pattern + "  name: Foo\n"), {kHadoop}),
            "foo"),
      200);
  EXPECT_EQ(value(run(load("lowercaseOutputLabelNames: true\nrules:\n" + pattern +
                           "  name: Foo\n  labels:\n    "
                           "ABC: DEF\n"),
                      {kHadoop}),
                  "Foo", {{"abc", "DEF"}}),
            200);
}

TEST(JmxRulesApply, NameAndLabelsFromThePatternAreSanitised) {
  auto families = run(load("rules:\n- pattern: '^hadoop<(service)=(DataNode), "
                           "name=DataNodeActivity-ams-hdd001-50010><>(replaceBlockOpMinTime):'\n"
                           "  name: hadoop_$3\n  labels:\n    '$1': '$2'\n"),
                      {kHadoop});
  EXPECT_EQ(value(families, "hadoop_replaceBlockOpMinTime", {{"service", "DataNode"}}), 200);
  families = run(load("rules:\n- pattern: '^(hadoop<service=DataNode, "
                      ")name=DataNodeActivity-ams-hdd001-50010><>"
                      "replaceBlockOpMinTime:'\n  name: '$1'\n  labels:\n    '$1': '$1'\n"),
                 {kHadoop});
  EXPECT_EQ(value(families, "hadoop_service_DataNode_",
                  {{"hadoop_service_DataNode_", "hadoop<service=DataNode, "}}),
            200);
}

TEST(JmxRulesApply, AnEmptyNameStopsTheRules) {
  auto rules = load("rules:\n- pattern: '.*'\n  name: ''\n- pattern: '.*'\n  name: foo\n");
  EXPECT_EQ(total_samples(run(rules, {kHadoop})), 0u);
}

TEST(JmxRulesApply, TheFirstMatchingRuleWins) {
  auto rules = load("rules:\n- pattern: '.*'\n  name: foo\n- pattern: '.*'\n  name: bar\n");
  auto families = run(rules, {kHadoop});
  EXPECT_EQ(value(families, "foo"), 200);
  EXPECT_EQ(family(families, "bar"), nullptr);
}

TEST(JmxRulesApply, ValueTemplates) {
  // testValueCaptureGroup, testValueIgnoreNonNumber, testValueEmpty, testEnumValue.
  EXPECT_EQ(value(run(load("rules:\n- pattern: '^hadoop<.+-500(10)>'\n  name: foo\n  value: $1\n"),
                      {kHadoop}),
                  "foo"),
            10);
  EXPECT_EQ(
      value(run(load("rules:\n- pattern: '.*'\n  name: foo\n  value: a\n"), {kHadoop}), "foo"),
      std::nullopt);
  EXPECT_EQ(value(run(load("rules:\n- pattern: '.*'\n  name: foo\n  value:\n"), {kHadoop}), "foo"),
            std::nullopt);
  auto enums = load(
      "rules:\n- pattern: 'org.bean.enum<type=StateMetrics.*>State: RUNNING'\n  name: "
      "bean_running\n"
      "  value: 1\n");
  EXPECT_EQ(value(run(enums, {str("org.bean.enum:type=StateMetrics", "State", "RUNNING")}),
                  "bean_running"),
            1);
  EXPECT_EQ(total_samples(run(enums, {str("org.bean.enum:type=StateMetrics", "State", "STOPPED")})),
            0u);
  // A value that does not parse drops the leaf; later rules are not tried for it.
  auto stops = load(
      "rules:\n- pattern: 'State: (.+)'\n  name: a\n  value: $1\n- pattern: '.*'\n  name: b\n"
      "  value: 7\n");
  EXPECT_EQ(total_samples(run(stops, {str("x:type=y", "State", "RUNNING")})), 0u);
  // valueFactor multiplies the value from the template too.
  auto factor =
      load("rules:\n- pattern: 'Count: (\\d+)'\n  name: a\n  value: $1.5\n  valueFactor: 2\n");
  EXPECT_EQ(value(run(factor, {num("x:type=y", "Count", 3, "3")}), "a"), 7);
}

TEST(JmxRulesApply, CamelTimestampWithLiteralLabels) {
  auto rules = load(
      "rules:\n- pattern: 'org.apache.camel<context=([^,]+), type=routes, name=\"([^\"]+)\"><>"
      "LastExchangeFailureTimestamp'\n  name: org.apache.camel.LastExchangeFailureTimestamp\n"
      "  help: Exchanges Last Failure Timestamps\n  type: UNTYPED\n  labels:\n    context: \"$1\"\n"
      "    route: \"$2\"\n    type: routes\n");
  auto families = run(
      rules, {num("org.apache.camel:context=my-camel-context,type=routes,name=\"my-route-name\"",
                  "LastExchangeFailureTimestamp", 1573285945.111, "1.573285945111E9")});
  const Family* f = family(families, "org_apache_camel_LastExchangeFailureTimestamp");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "Exchanges Last Failure Timestamps");
  EXPECT_EQ(f->type, MetricType::kUntyped);
  EXPECT_EQ(f->label_names, (std::vector<std::string>{"context", "route", "type"}));
  EXPECT_EQ(
      value(families, f->name,
            {{"context", "my-camel-context"}, {"route", "my-route-name"}, {"type", "routes"}}),
      1573285945.111);
}

TEST(JmxRulesApply, TomcatServletPatternFromJmxCollectorTest) {
  auto rules = load(
      "rules:\n- pattern: 'Catalina<j2eeType=Servlet, "
      "WebModule=//([-a-zA-Z0-9+&@#/%?=~_|!:.,;]*[-a-zA-Z0-9+&@#/%=~_|]),\n"
      "    name=([-a-zA-Z0-9+/$%~_-|!.]*), J2EEApplication=none, \n"
      "J2EEServer=none><>RequestCount:'\n"
      "  name: tomcat_request_servlet_count\n  labels:\n    module: \"$1\"\n    servlet: \"$2\"\n"
      "  help: Tomcat servlet request count\n  type: COUNTER\n  attrNameSnakeCase: false\n");
  auto families = run(rules, {num("Catalina:j2eeType=Servlet,WebModule=//localhost/host-manager,"
                                  "name=HTMLHostManager,J2EEApplication=none,J2EEServer=none",
                                  "RequestCount", 1, "1")});
  EXPECT_EQ(value(families, "tomcat_request_servlet_count",
                  {{"module", "localhost/host-manager"}, {"servlet", "HTMLHostManager"}}),
            1);
  // COUNTER without _total: untyped, as Prometheus reads jmx_exporter 0.20's text format.
  EXPECT_EQ(family(families, "tomcat_request_servlet_count")->type, MetricType::kUntyped);
}

// --- default naming ----------------------------------------------------------------------------

TEST(JmxRulesApply, DefaultExportNamesAndLabels) {
  auto rules = load("---\n");
  auto families =
      run(rules, {
                     kHadoop,
                     num("org.apache.cassandra.concurrent:type=CONSISTENCY-MANAGER", "ActiveCount",
                         100, "100"),
                     num("org.apache.cassandra.metrics:type=Compaction,name=CompletedTasks",
                         "Value", 0.2, "0.2"),
                     boolean("boolean:Type=Test", "True", true),
                     boolean("boolean:Type=Test", "False", false),
                     str("boolean:Type=Test", "Name", "ignored"),
                 });
  EXPECT_EQ(value(families, "hadoop_DataNode_replaceBlockOpMinTime",
                  {{"name", "DataNodeActivity-ams-hdd001-50010"}}),
            200);
  EXPECT_EQ(value(families, "org_apache_cassandra_concurrent_CONSISTENCY_MANAGER_ActiveCount"),
            100);
  EXPECT_EQ(value(families, "org_apache_cassandra_metrics_Compaction_Value",
                  {{"name", "CompletedTasks"}}),
            0.2);
  EXPECT_EQ(value(families, "boolean_Test_True"), 1);
  EXPECT_EQ(value(families, "boolean_Test_False"), 0);
  EXPECT_EQ(total_samples(families), 5u);  // the string is not exported
  // Default rules are untyped and carry jmx_exporter's help text.
  const Family* f = family(families, "hadoop_DataNode_replaceBlockOpMinTime");
  EXPECT_EQ(f->type, MetricType::kUntyped);
  EXPECT_EQ(
      f->help,
      "hadoop:name=DataNodeActivity-ams-hdd001-50010,type=null,attribute=replaceBlockOpMinTime");
}

TEST(JmxRulesApply, DefaultExportWithCompositeAndTabularData) {
  auto rules = load("lowercaseOutputName: true\nlowercaseOutputLabelNames: true\n");
  auto families = run(
      rules, {
                 item("java.lang:type=Memory", {"HeapMemoryUsage"}, "used", 1024, "1024"),
                 // A tabular row: the index column became a property (nestedTabularDataTest).
                 item("Hadoop:service=DataNode,name=DataNodeInfo,key=1.2.3.4,key_=networkErrors",
                      {"DatanodeNetworkCounts"}, "value", 338, "338"),
             });
  EXPECT_EQ(value(families, "java_lang_memory_heapmemoryusage_used"), 1024);
  EXPECT_EQ(value(families, "hadoop_datanode_datanodenetworkcounts_value",
                  {{"name", "DataNodeInfo"}, {"key", "1.2.3.4"}, {"key_", "networkErrors"}}),
            338);
  // Leading digits and odd characters in the default name.
  families = run(load("---\n"), {num("9lives.app:type=a b-c,name=x", "Value", 1, "1")});
  EXPECT_EQ(value(families, "_9lives_app_a_b_c_Value", {{"name", "x"}}), 1);
}

TEST(JmxRulesApply, UnnamedRulesStillApplyTypeFactorValueAndSnakeCase) {
  auto rules = load(
      "rules:\n- pattern: 'x<type=A><>'\n  type: COUNTER\n  valueFactor: 0.001\n  "
      "attrNameSnakeCase: true\n"
      "- pattern: 'x<type=B><>'\n  value: 42\n");
  auto families =
      run(rules, {num("x:type=A", "BytesTotal", 5000, "5000"), str("x:type=B", "State", "UP")});
  EXPECT_EQ(value(families, "x_A_bytes_total"), 5);
  EXPECT_EQ(family(families, "x_A_bytes_total")->type, MetricType::kCounter);
  EXPECT_EQ(value(families, "x_B_State"), 42);
}

// --- values and types --------------------------------------------------------------------------

TEST(JmxRulesApply, ValueKinds) {
  auto rules =
      load("rules:\n- pattern: 'x<type=(\\w+)><>(\\w+)'\n  name: $1_$2\n  valueFactor: 10\n");
  auto families = run(rules, {num("x:type=n", "a", 1.5, "1.5"), boolean("x:type=b", "t", true),
                              boolean("x:type=b", "f", false), str("x:type=s", "a", "up"),
                              num("x:type=nan", "a", std::nan(""), "NaN"), null("x:type=null", "a"),
                              null("java.lang:type=Memory", "LastGcInfo")});
  EXPECT_EQ(value(families, "n_a"), 15);
  EXPECT_EQ(value(families, "b_t"), 1);  // booleans are 1/0, not multiplied
  EXPECT_EQ(value(families, "b_f"), 0);
  EXPECT_EQ(family(families, "s_a"), nullptr);  // strings need `value:`
  EXPECT_TRUE(std::isnan(*value(families, "nan_a")));
  // Jolokia 1.x writes a Double NaN as null: exported as NaN outside the JVM's own beans...
  EXPECT_TRUE(std::isnan(*value(families, "null_a")));
  // ... where a null is a real null that jmx_exporter skips.
  EXPECT_EQ(total_samples(families), 5u);
  // The match string shows NaN for it, as jmx_exporter's does.
  auto by_text = load("rules:\n- pattern: 'a: NaN'\n  name: was_nan\n");
  EXPECT_TRUE(std::isnan(*value(run(by_text, {null("x:type=null", "a")}), "was_nan")));
}

TEST(JmxRulesApply, TypesAsJmxExporter020WritesThem) {
  auto rules = load(
      "rules:\n"
      "- {pattern: 'type=g>', name: g, type: GAUGE}\n"
      "- {pattern: 'type=c>', name: c, type: COUNTER}\n"
      "- {pattern: 'type=t>', name: t_total, type: COUNTER}\n"
      "- {pattern: 'type=u>', name: u, type: UNTYPED}\n"
      "- {pattern: 'type=k>', name: k, type: UNKNOWN}\n"
      "- {pattern: 'type=s>', name: s, type: SUMMARY}\n"
      "- {pattern: 'type=h>', name: h, type: GAUGE_HISTOGRAM}\n"
      "- {pattern: 'type=i>', name: i, type: INFO}\n"
      "- {pattern: 'type=d>', name: d}\n");
  std::vector<Leaf> leaves;
  for (const char* t : {"g", "c", "t", "u", "k", "s", "h", "i", "d"})
    leaves.push_back(num(std::string("x:type=") + t, "V", 1, "1"));
  auto families = run(rules, leaves);
  EXPECT_EQ(family(families, "g")->type, MetricType::kGauge);
  // 0.20 types the family <name>_total, so samples of a COUNTER named without _total are
  // untyped to Prometheus.
  EXPECT_EQ(family(families, "c")->type, MetricType::kUntyped);
  EXPECT_EQ(family(families, "t_total")->type, MetricType::kCounter);
  EXPECT_EQ(family(families, "u")->type, MetricType::kUntyped);
  EXPECT_EQ(family(families, "k")->type, MetricType::kUntyped);
  EXPECT_EQ(family(families, "s")->type, MetricType::kSummary);
  EXPECT_EQ(family(families, "h")->type, MetricType::kHistogram);
  EXPECT_EQ(family(families, "i")->type, MetricType::kGauge);
  EXPECT_EQ(family(families, "d")->type, MetricType::kUntyped);  // 0.20's default
}

TEST(JmxRulesApply, CounterNamingOf1xAppendsTotal) {
  const std::string yaml =
      "rules:\n- {pattern: 'type=a>', name: requests, type: COUNTER}\n"
      "- {pattern: 'type=b>', name: bytes_total, type: COUNTER}\n"
      "- {pattern: 'type=c>', name: size, type: GAUGE}\n";
  const std::vector<Leaf> leaves{num("x:type=a", "V", 1, "1"), num("x:type=b", "V", 2, "2"),
                                 num("x:type=c", "V", 3, "3")};
  auto old = run(load(yaml), leaves);
  EXPECT_EQ(value(old, "requests"), 1);
  EXPECT_EQ(value(old, "bytes_total"), 2);
  auto renamed = run(load(yaml, CounterNaming::kJmxExporter1x), leaves);
  EXPECT_EQ(value(renamed, "requests_total"), 1);
  EXPECT_EQ(value(renamed, "bytes_total"), 2);
  EXPECT_EQ(value(renamed, "size"), 3);
  EXPECT_EQ(family(renamed, "requests"), nullptr);
  EXPECT_EQ(family(renamed, "requests_total")->type, MetricType::kCounter);
}

TEST(JmxRulesApply, HelpTemplatesAndTheFirstSampleFixesTypeAndHelp) {
  auto rules = load(
      "rules:\n- pattern: 'x<type=(\\w+)><>(A)'\n  name: m\n  help: 'from $1 \\$'\n  type: GAUGE\n"
      "  labels: {t: $1}\n"
      "- pattern: 'x<type=(\\w+)><>(B)'\n  name: m\n  type: COUNTER\n  labels: {t: $1, attr: "
      "$2}\n");
  auto families = run(rules, {num("x:type=one", "A", 1, "1"), num("x:type=two", "B", 2, "2")});
  const Family* f = family(families, "m");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->help, "from one $");
  EXPECT_EQ(f->type, MetricType::kGauge);
  // Samples of one name may carry different labels: the family has the union.
  EXPECT_EQ(f->label_names, (std::vector<std::string>{"t", "attr"}));
  EXPECT_EQ(value(families, "m", {{"t", "one"}}), 1);
  EXPECT_EQ(value(families, "m", {{"t", "two"}, {"attr", "B"}}), 2);
}

TEST(JmxRulesApply, DuplicateSamplesKeepTheFirst) {
  auto rules = load("rules:\n- pattern: 'test.dup<type=\\w, name=(\\w)><>Value'\n  name: dup_$1\n");
  auto families = run(rules, {num("test.dup:type=A,name=X", "Value", 1, "1"),
                              num("test.dup:type=B,name=X", "Value", 2, "2")});
  EXPECT_EQ(total_samples(families), 1u);
  EXPECT_EQ(value(families, "dup_X"), 1);
}

TEST(JmxRulesApply, JmxScraperSkipsRuntimePathsAndFlightRecorder) {
  auto rules = load("---\n");
  auto families =
      run(rules,
          {str("java.lang:type=Runtime", "ClassPath", "/x"),
           num("java.lang:type=Runtime", "Uptime", 5, "5"),
           num("java.lang:type=Runtime", "classpath", 5, "5"),
           item("java.lang:type=Runtime,key=java.version", {"SystemProperties"}, "value", 1, "1"),
           num("jdk.management.jfr:type=FlightRecorder", "Recordings", 1, "1")});
  EXPECT_EQ(total_samples(families), 1u);
  EXPECT_EQ(value(families, "java_lang_Runtime_Uptime"), 5);
}

TEST(JmxRulesApply, CachedRulesMatchWithoutTheValue) {
  // With `cache: true` jmx_exporter matches "<cache>" in place of the value.
  auto rules = load(
      "rules:\n- pattern: 'x<type=a><>V: (\\d+)'\n  name: by_value\n  cache: true\n"
      "- pattern: 'x<type=a><>V: <cache>'\n  name: cached_$0\n  cache: true\n");
  const auto leaves = std::vector<Leaf>{num("x:type=a", "V", 7, "7")};
  for (int round = 0; round < 3; ++round) {  // the second and third rounds come from the cache
    auto families = run(rules, leaves);
    EXPECT_EQ(family(families, "by_value"), nullptr);
    EXPECT_EQ(value(families, "cached_x_type_a_V:_cache_"), 7) << round;
  }
  // A cached rule still takes each leaf's own value.
  EXPECT_EQ(value(run(rules, {num("x:type=a", "V", 9, "9")}), "cached_x_type_a_V:_cache_"), 9);
}

TEST(JmxRulesApply, ApplyIsThreadSafeWithCachedRules) {
  auto rules = load(
      "lowercaseOutputName: true\nrules:\n"
      "- pattern: 'kafka.log<type=Log, name=(\\w+), topic=(.+), partition=(\\d+)><>Value'\n"
      "  name: kafka_log_$1\n  cache: true\n  labels: {topic: $2, partition: $3}\n"
      "- pattern: '.*'\n  cache: true\n");
  std::vector<Leaf> leaves;
  for (int p = 0; p < 300; ++p) {
    leaves.push_back(num("kafka.log:type=Log,name=Size,topic=t" + std::to_string(p % 7) +
                             ",partition=" + std::to_string(p),
                         "Value", p, std::to_string(p)));
    leaves.push_back(
        num("kafka.server:type=X,name=y" + std::to_string(p), "Count", p, std::to_string(p)));
  }
  std::string expected;
  render_text(run(rules, leaves), expected);
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        outputs[t].clear();
        render_text(run(rules, leaves), outputs[t]);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& out : outputs) EXPECT_EQ(out, expected);
  EXPECT_NE(expected.find("kafka_log_size{partition=\"10\",topic=\"t3\"} 10"), std::string::npos)
      << expected;
}

// --- includes and excludes ---------------------------------------------------------------------

TEST(JmxRulesIncludes, IncludeExcludeAndTheOldSpellings) {
  auto name = [](const char* text) { return std::move(ObjectName::parse(text)).value(); };
  auto all = load("---\n");
  EXPECT_TRUE(all.includes(name("anything:type=x")));
  auto some = load(
      "includeObjectNames: ['java.lang:*', 'org.apache.cassandra.concurrent:*']\n"
      "excludeObjectNames: ['org.apache.cassandra.concurrent:type=Bad,*']\n");
  EXPECT_TRUE(some.includes(name("java.lang:type=OperatingSystem")));
  EXPECT_TRUE(some.includes(name("org.apache.cassandra.concurrent:type=CONSISTENCY-MANAGER")));
  EXPECT_FALSE(some.includes(name("org.apache.cassandra.concurrent:type=Bad,x=y")));
  EXPECT_FALSE(some.includes(name("hadoop:service=DataNode,name=x")));
  // The old names work; the new ones win when both are there, as in jmx_exporter.
  auto old = load(
      "whitelistObjectNames: ['java.lang:*']\nblacklistObjectNames: ['java.lang:type=Memory']\n");
  EXPECT_TRUE(old.includes(name("java.lang:type=Threading")));
  EXPECT_FALSE(old.includes(name("java.lang:type=Memory")));
  auto both = load("includeObjectNames: ['a:*']\nwhitelistObjectNames: ['b:*']\n");
  EXPECT_TRUE(both.includes(name("a:x=y")));
  EXPECT_FALSE(both.includes(name("b:x=y")));
  // An empty include list includes nothing (jmx_exporter queries no names at all).
  EXPECT_FALSE(load("includeObjectNames: []\n").includes(name("java.lang:type=Memory")));
  EXPECT_TRUE(load("includeObjectNames: []\n").plan().empty());
}

TEST(JmxRulesIncludes, ExcludedAttributesAreNotExported) {
  auto rules =
      load("excludeObjectNameAttributes:\n  \"x:type=Secret,name=Token\": [Hidden, Usage]\n");
  auto families =
      run(rules, {num("x:type=Secret,name=Token", "Count", 1, "1"),
                  num("x:type=Secret,name=Token", "Hidden", 2, "2"),
                  item("x:type=Secret,name=Token", {"Usage"}, "used", 3, "3"),
                  num("x:name=Token,type=Secret", "Hidden", 4, "4"),  // the same ObjectName
                  num("x:type=Public,name=Token", "Hidden", 5, "5")});
  EXPECT_EQ(value(families, "x_Secret_Count", {{"name", "Token"}}), 1);
  EXPECT_EQ(value(families, "x_Public_Hidden", {{"name", "Token"}}), 5);
  EXPECT_EQ(total_samples(families), 2u);
}

// --- FamilyBuilder -----------------------------------------------------------------------------

TEST(FamilyBuilder, ConstantLabelsAndExportedRenames) {
  FamilyBuilder b;
  b.set_constant_labels({{"broker", "1"}});
  EXPECT_TRUE(b.add("m", "help", MetricType::kGauge, {{"topic", "a"}}, 1));
  EXPECT_TRUE(b.add("m", "other help", MetricType::kCounter,
                    {{"broker", "7"}, {"exported_broker", "8"}}, 2));
  b.set_constant_labels({{"broker", "2"}});
  EXPECT_TRUE(
      b.add("m", "", MetricType::kGauge, {{"topic", "a"}}, 3));  // another broker: not a duplicate
  EXPECT_FALSE(b.add("m", "", MetricType::kGauge, {{"topic", "a"}}, 4));  // same name and labels
  EXPECT_TRUE(b.has_family("m"));
  EXPECT_FALSE(b.has_family("n"));
  EXPECT_EQ(b.sample_count(), 3u);
  auto families = std::move(b).take();
  ASSERT_EQ(families.size(), 1u);
  const Family& f = families[0];
  EXPECT_EQ(f.help, "help");
  EXPECT_EQ(f.type, MetricType::kGauge);
  // Prometheus moves a clashing label to the first exported_ name the sample does not use.
  EXPECT_EQ(f.label_names, (std::vector<std::string>{"topic", "broker", "exported_exported_broker",
                                                     "exported_broker"}));
  for (const auto& s : f.samples) EXPECT_EQ(s.label_values.size(), 4u);  // padded
  EXPECT_EQ(value(families, "m", {{"topic", "a"}, {"broker", "1"}}), 1);
  EXPECT_EQ(value(families, "m",
                  {{"broker", "1"}, {"exported_exported_broker", "7"}, {"exported_broker", "8"}}),
            2);
  EXPECT_EQ(value(families, "m", {{"topic", "a"}, {"broker", "2"}}), 3);
}

TEST(FamilyBuilder, SummariesDeduplicatePerSuffix) {
  FamilyBuilder b;
  EXPECT_TRUE(b.add_with_suffix("gc_seconds", "h", MetricType::kSummary, {{"gc", "young"}},
                                SampleSuffix::kCount, 3));
  EXPECT_TRUE(b.add_with_suffix("gc_seconds", "h", MetricType::kSummary, {{"gc", "young"}},
                                SampleSuffix::kSum, 0.5));
  EXPECT_FALSE(b.add_with_suffix("gc_seconds", "h", MetricType::kSummary, {{"gc", "young"}},
                                 SampleSuffix::kSum, 1));
  auto families = std::move(b).take();
  ASSERT_EQ(families[0].samples.size(), 2u);
  EXPECT_EQ(families[0].samples[1].suffix, SampleSuffix::kSum);
  EXPECT_EQ(families[0].samples[1].value, 0.5);
}

TEST(FamilyBuilder, LabelsAddedLaterAreEmptyForEarlierSamples) {
  FamilyBuilder b;
  b.add("m", "", MetricType::kGauge, {}, 1);
  b.add("m", "", MetricType::kGauge, {{"a", "x"}}, 2);
  EXPECT_FALSE(b.add("m", "", MetricType::kGauge, {}, 3));  // {} and {a=""} are the same series
  auto families = std::move(b).take();
  EXPECT_EQ(families[0].label_names, std::vector<std::string>{"a"});
  EXPECT_EQ(families[0].samples[0].label_values, std::vector<std::string>{""});
  std::string text;
  render_text(families, text);
  EXPECT_NE(text.find("\nm 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace khe::jmx
