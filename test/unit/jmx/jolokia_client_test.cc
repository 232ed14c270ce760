// The reply walker on real Jolokia 1.7.2 replies from a Kafka broker (test/data/jmx/jolokia/,
// see its README), the variants other agent versions write, and broken replies.
#include "khe/jmx/jolokia_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "khe/jmx/jvm_families.h"

namespace khe::jmx {
namespace {

using ::testing::HasSubstr;

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(KHE_TEST_DATA) + "/jmx/jolokia/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// jmx_exporter's match-string prefix of a leaf: domain<k=v, ...><key1, ...>attr
std::string leaf_name(const BeanLeaf& leaf) {
  std::string out(leaf.domain);
  out += '<';
  for (std::size_t i = 0; i < leaf.bean_properties.size(); ++i) {
    if (i > 0) out += ", ";
    out += leaf.bean_properties[i].first + "=" + leaf.bean_properties[i].second;
  }
  out += "><";
  for (std::size_t i = 0; i < leaf.attr_keys.size(); ++i) {
    if (i > 0) out += ", ";
    out += leaf.attr_keys[i];
  }
  out += '>';
  out += leaf.attr_name;
  return out;
}

struct Seen {
  LeafValue::Kind kind;
  double number;
  std::string text;
};

// Walks a reply, recording every leaf by its match-string prefix.
struct Walk {
  std::map<std::string, Seen> leaves;
  std::size_t calls = 0;
  std::size_t duplicates = 0;
  std::vector<std::string> beans;
  Result<std::vector<ElementOutcome>> outcomes = Error{};

  Walk(std::string_view body, const std::vector<PlannedRead>& reads, BeanFilter filter = nullptr) {
    if (!filter) filter = [](const ObjectName&) { return true; };
    auto recording_filter = [&](const ObjectName& name) {
      beans.push_back(name.to_string());
      return filter(name);
    };
    outcomes = walk_bulk_reply(body, reads, recording_filter, [&](const BeanLeaf& leaf) {
      ++calls;
      auto [it, inserted] = leaves.emplace(
          leaf_name(leaf), Seen{leaf.value.kind, leaf.value.number, std::string(leaf.value.text)});
      if (!inserted) ++duplicates;
    });
  }
  const Seen& at(const std::string& name) const {
    auto it = leaves.find(name);
    if (it == leaves.end()) {
      ADD_FAILURE() << "no leaf " << name;
      static const Seen kNone{};
      return kNone;
    }
    return it->second;
  }
};

std::vector<PlannedRead> kafka_pattern_reads() {
  return {{"kafka.server:type=BrokerTopicMetrics,*", {}},
          {"kafka.log:type=Log,*", {"Value"}},
          {"kafka.cluster:type=Partition,*", {}},
          {"kafka.network:type=RequestMetrics,name=TotalTimeMs,*", {}},
          {"kafka.server:type=socket-server-metrics,*", {}},
          {"kafka.server:type=app-info,*", {}},
          {"kafka.server:type=KafkaServer,name=BrokerState", {}}};
}

std::vector<PlannedRead> element_error_reads() {
  return {{"kafka.server:type=NoSuchBean", {}},
          {"nosuch.domain:type=X,*", {}},
          {"java.lang:type=Memory", {"HeapMemoryUsage", "NoSuchAttribute"}},
          {"java.lang:type=MemoryPool,*", {"NoSuchAttribute"}},
          {"java.lang:type=Memory", {"Verbose"}},
          {"java.lang:type=MemoryPool,*", {}}};
}

TEST(BuildBulkRequest, WritesReadRequestsWithConfigAndEscapes) {
  std::vector<PlannedRead> reads{
      {"kafka.server:type=BrokerTopicMetrics,*", {"Count", "OneMinuteRate"}},
      {"d:k=\"a\\\\b\",x=\x01", {}}};
  EXPECT_EQ(
      build_bulk_request(reads),
      R"([{"type":"read","mbean":"kafka.server:type=BrokerTopicMetrics,*","attribute":["Count","OneMinuteRate"],)"
      R"("config":{"canonicalNaming":false,"ignoreErrors":true}},)"
      R"({"type":"read","mbean":"d:k=\"a\\\\b\",x=\u0001","config":{"canonicalNaming":false,"ignoreErrors":true}}])");
  EXPECT_EQ(build_bulk_request({}), "[]");
}

TEST(IsObjectNamePattern, FollowsJmx) {
  EXPECT_TRUE(is_object_name_pattern("*:*"));
  EXPECT_TRUE(is_object_name_pattern("kafka.server:type=BrokerTopicMetrics,*"));
  EXPECT_TRUE(is_object_name_pattern("kafka.server:type=Broker*"));
  EXPECT_TRUE(is_object_name_pattern("kafka.serve?:type=X"));
  EXPECT_TRUE(is_object_name_pattern(R"(d:k="a*")"));
  EXPECT_FALSE(is_object_name_pattern("java.lang:type=Memory"));
  EXPECT_FALSE(is_object_name_pattern(R"(d:k="a\*b\?")"));
}

TEST(WalkBulkReply, JvmReadsOfARealBroker) {
  Walk walk(read_data("jvm_reads.json"), jvm_reads());
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  ASSERT_EQ(walk.outcomes->size(), jvm_reads().size());
  for (const auto& outcome : *walk.outcomes) {
    EXPECT_FALSE(outcome.error) << outcome.error->to_string();
    EXPECT_FALSE(outcome.empty);
    EXPECT_EQ(outcome.ignored_attributes, 0u);
  }
  EXPECT_EQ(walk.duplicates, 0u);
  // CompositeData: the attribute joins attr_keys, the item is the leaf.
  const Seen& used = walk.at("java.lang<type=Memory><HeapMemoryUsage>used");
  EXPECT_EQ(used.kind, LeafValue::Kind::kNumber);
  EXPECT_GT(used.number, 1e6);
  EXPECT_EQ(used.text, std::to_string(static_cast<long long>(used.number)));
  EXPECT_EQ(walk.at("java.lang<type=Memory><>ObjectPendingFinalizationCount").kind,
            LeafValue::Kind::kNumber)
      << "the single leaf has no attr_keys";
  // Pattern reads keep the registration order of the properties (name before type here).
  EXPECT_EQ(walk.at("java.lang<name=G1 Eden Space, type=MemoryPool><Usage>max").text, "-1");
  // A pool without a collector has a null CollectionUsage.
  EXPECT_EQ(walk.at("java.lang<name=Metaspace, type=MemoryPool><>CollectionUsage").kind,
            LeafValue::Kind::kNull);
  EXPECT_EQ(walk.at("java.lang<name=Metaspace, type=MemoryPool><>CollectionUsage").text, "null");
  EXPECT_EQ(walk.at("java.lang<type=Runtime><>VmVendor").kind, LeafValue::Kind::kString);
  // SystemProperties is a TabularData (an MXBean map): rows with a `key` property, named after
  // the attribute, as jmx_exporter flattens it.
  const Seen& runtime = walk.at("java.lang<type=Runtime, key=java.runtime.name><>SystemProperties");
  EXPECT_EQ(runtime.kind, LeafValue::Kind::kString);
  EXPECT_THAT(runtime.text, HasSubstr("Runtime Environment"));
  EXPECT_EQ(walk.leaves.count("java.lang<type=Runtime><SystemProperties>java.runtime.name"), 0u);
}

TEST(WalkBulkReply, LastGcInfoAndEveryJavaLangBean) {
  Walk walk(read_data("java_lang_all.json"), {{"java.lang:*", {}}, {"java.nio:*", {}}});
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  const auto& lang = (*walk.outcomes)[0];
  EXPECT_FALSE(lang.error);
  EXPECT_GT(lang.beans, 15u);
  // "Unsupported" values (getters that threw UnsupportedOperationException) are not leaves.
  EXPECT_GT(lang.ignored_attributes, 5u);
  EXPECT_EQ(walk.leaves.count("java.lang<type=Runtime><>BootClassPath"), 0u);
  EXPECT_EQ(walk.duplicates, 0u);
  // GcInfo is a CompositeData holding TabularData (Map<String, MemoryUsage>): rows labelled
  // with `key`, the MemoryUsage composite under <LastGcInfo, memoryUsageAfterGc>.
  const Seen& after = walk.at(
      "java.lang<name=G1 Young Generation, type=GarbageCollector, key=G1 Eden Space>"
      "<LastGcInfo, memoryUsageAfterGc>used");
  EXPECT_EQ(after.kind, LeafValue::Kind::kNumber);
  EXPECT_EQ(
      walk.at("java.lang<name=G1 Young Generation, type=GarbageCollector><LastGcInfo>duration")
          .kind,
      LeafValue::Kind::kNumber);
  // ObjectName values ({"objectName": ...}) and arrays are not exported.
  for (const auto& [name, seen] : walk.leaves) {
    EXPECT_THAT(name, ::testing::Not(HasSubstr("<ObjectName>"))) << name;
    EXPECT_THAT(name, ::testing::Not(HasSubstr("MemoryPoolNames"))) << name;
  }
  EXPECT_EQ(walk.at("java.lang<type=Memory><>Verbose").kind, LeafValue::Kind::kBoolean);
  EXPECT_EQ(walk.at("java.nio<name=direct, type=BufferPool><>MemoryUsed").kind,
            LeafValue::Kind::kNumber);
}

TEST(WalkBulkReply, KafkaPatternReads) {
  Walk walk(read_data("kafka_patterns.json"), kafka_pattern_reads());
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  const auto& outcomes = *walk.outcomes;
  for (const auto& outcome : outcomes) EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcomes[1].beans, 60u);  // as captured
  EXPECT_EQ(outcomes[1].leaves, 60u);
  EXPECT_EQ(walk.duplicates, 0u);
  const Seen& bytes_in =
      walk.at("kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=orders><>Count");
  EXPECT_EQ(bytes_in.kind, LeafValue::Kind::kNumber);
  EXPECT_GT(bytes_in.number, 0);
  // Topic names with a dot stay as they are.
  EXPECT_EQ(
      walk.leaves.count("kafka.log<type=Log, name=Size, topic=payments.v2, partition=1><>Value"),
      1u);
  // Doubles keep Java's own text.
  const Seen& mean = walk.at(
      "kafka.network<type=RequestMetrics, name=TotalTimeMs, request=AddOffsetsToTxn><>Mean");
  EXPECT_EQ(mean.text, "0.0");
  bool saw_exponent = false;
  for (const auto& [name, seen] : walk.leaves) {
    if (seen.kind == LeafValue::Kind::kNumber && seen.text.find('E') != std::string::npos) {
      saw_exponent = true;
      EXPECT_DOUBLE_EQ(seen.number, std::stod(seen.text)) << name;
    }
  }
  EXPECT_TRUE(saw_exponent);
  // Jolokia 1.x writes NaN as null.
  bool saw_null = false;
  for (const auto& [name, seen] : walk.leaves) {
    if (name.starts_with("kafka.server<type=socket-server-metrics") &&
        seen.kind == LeafValue::Kind::kNull) {
      saw_null = true;
    }
  }
  EXPECT_TRUE(saw_null);
  EXPECT_EQ(walk.at("kafka.server<type=app-info><>version").text, "3.6.1");
  // A plain read names the bean as requested.
  EXPECT_EQ(walk.at("kafka.server<type=KafkaServer, name=BrokerState><>Value").text, "3");
}

TEST(WalkBulkReply, BareNanAndInfinityTokens) {
  Walk walk(read_data("kafka_patterns.nan_tokens.derived.json"), kafka_pattern_reads());
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  std::size_t nans = 0;
  for (const auto& [name, seen] : walk.leaves) {
    EXPECT_NE(seen.kind, LeafValue::Kind::kNull) << name;
    if (seen.text == "NaN") {
      ++nans;
      EXPECT_EQ(seen.kind, LeafValue::Kind::kNumber);
      EXPECT_TRUE(std::isnan(seen.number));
    }
  }
  EXPECT_EQ(nans, 6u);
  const Seen& inf =
      walk.at("kafka.server<type=socket-server-metrics><>MemoryPoolDepletedTimeTotal");
  EXPECT_EQ(inf.text, "Infinity");
  EXPECT_TRUE(std::isinf(inf.number) && inf.number > 0);
  const Seen& minus =
      walk.at("kafka.server<type=socket-server-metrics><>MemoryPoolAvgDepletedPercent");
  EXPECT_EQ(minus.text, "-Infinity");
  EXPECT_TRUE(std::isinf(minus.number) && minus.number < 0);
}

TEST(WalkBulkReply, ElementErrorsOfARealAgent) {
  Walk walk(read_data("element_errors.json"), element_error_reads());
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  const auto& o = *walk.outcomes;
  for (const auto& outcome : o) EXPECT_FALSE(outcome.error) << outcome.error->to_string();
  EXPECT_TRUE(o[0].empty);  // 404 InstanceNotFoundException
  EXPECT_TRUE(o[1].empty);  // 404 no MBean matches the pattern
  EXPECT_FALSE(o[2].empty);
  EXPECT_EQ(o[2].ignored_attributes, 1u);  // "ERROR: No such attribute: ..."
  EXPECT_EQ(o[2].leaves, 4u);              // HeapMemoryUsage's four items
  EXPECT_TRUE(o[3].empty);                 // 400 "No matching attributes" for a pattern read
  EXPECT_EQ(o[4].leaves, 1u);              // one attribute asked for in a list: {attr: value}
  EXPECT_EQ(walk.at("java.lang<type=Memory><>Verbose").text, "false");
  EXPECT_GT(o[5].ignored_attributes, 0u);  // "Unsupported"
}

TEST(WalkBulkReply, Jolokia2ErrorObjectsAreIgnoredAttributes) {
  Walk walk(read_data("element_errors.error_objects_2x.derived.json"), element_error_reads());
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  EXPECT_EQ((*walk.outcomes)[2].ignored_attributes, 1u);
  EXPECT_EQ((*walk.outcomes)[2].leaves, 4u);
  for (const auto& [name, seen] : walk.leaves)
    EXPECT_THAT(name, ::testing::Not(HasSubstr("NoSuchAttribute")));
}

TEST(WalkBulkReply, ElementStatusesBecomeErrorsOfTheirKind) {
  std::vector<PlannedRead> reads{{"kafka.server:type=NoSuchBean", {}},
                                 {"kafka.server:type=NoSuchBean", {}}};
  Walk walk(read_data("element_status_403_500.derived.json"), reads);
  ASSERT_TRUE(walk.outcomes.ok());
  const auto& o = *walk.outcomes;
  ASSERT_TRUE(o[0].error);
  EXPECT_EQ(o[0].error->kind, ErrorKind::kAuth);
  EXPECT_THAT(o[0].error->message, HasSubstr("403"));
  ASSERT_TRUE(o[1].error);
  EXPECT_EQ(o[1].error->kind, ErrorKind::kProtocol);
  EXPECT_THAT(o[1].error->message, HasSubstr("Error while extracting value"));
  EXPECT_EQ(walk.calls, 0u);
}

TEST(WalkBulkReply, AMalformedNameLosesOnlyThatBean) {
  Walk good(read_data("kafka_patterns.json"), kafka_pattern_reads());
  Walk walk(read_data("kafka_patterns.malformed_name.derived.json"), kafka_pattern_reads());
  ASSERT_TRUE(walk.outcomes.ok());
  const auto& partition = (*walk.outcomes)[2];
  ASSERT_TRUE(partition.error);
  EXPECT_EQ(partition.error->kind, ErrorKind::kProtocol);
  EXPECT_THAT(partition.error->message, HasSubstr("1 MBean name(s)"));
  EXPECT_EQ(partition.beans + 1, (*good.outcomes)[2].beans);
  EXPECT_EQ(partition.leaves + 1, (*good.outcomes)[2].leaves);
  EXPECT_FALSE((*walk.outcomes)[3].error);
}

TEST(WalkBulkReply, TheWholeBulkRejectedByTheAgent) {
  const std::string body = read_data("bulk_400.json");
  Walk walk(body, {{"java.lang:type=Memory", {}}, {"not an object name", {}}});
  ASSERT_FALSE(walk.outcomes.ok());
  EXPECT_EQ(walk.outcomes.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(walk.outcomes.error().message, HasSubstr("Invalid object name"));
  EXPECT_EQ(walk.calls, 0u);
  EXPECT_THAT(agent_error_text(body).value_or(""), HasSubstr("Key properties cannot be empty"));
  EXPECT_FALSE(agent_error_text("[]"));
  EXPECT_FALSE(agent_error_text("garbage"));
}

TEST(WalkBulkReply, TheFilterSkipsBeans) {
  Walk walk(read_data("kafka_patterns.json"), kafka_pattern_reads(),
            [](const ObjectName& name) { return name.domain != "kafka.log"; });
  ASSERT_TRUE(walk.outcomes.ok());
  EXPECT_EQ((*walk.outcomes)[1].beans, 60u);
  EXPECT_EQ((*walk.outcomes)[1].leaves, 0u);
  for (const auto& [name, seen] : walk.leaves) EXPECT_FALSE(name.starts_with("kafka.log<"));
}

TEST(WalkBulkReply, RejectsBrokenRepliesBeforeAnyCallback) {
  const std::string good = read_data("jvm_reads.json");
  const auto reads = jvm_reads();
  auto expect_rejected = [&](std::string_view body, const std::string& what) {
    Walk walk(body, reads);
    EXPECT_FALSE(walk.outcomes.ok()) << what;
    if (!walk.outcomes.ok()) {
      EXPECT_EQ(walk.outcomes.error().kind, ErrorKind::kProtocol) << what;
    }
    EXPECT_EQ(walk.calls, 0u) << what;
    EXPECT_TRUE(walk.beans.empty()) << what;
  };
  // Every truncation (a stride through the body and every cut near its end).
  for (std::size_t cut = 0; cut < good.size(); cut += (good.size() - cut > 64 ? 7 : 1)) {
    expect_rejected(std::string_view(good).substr(0, cut), "truncated at " + std::to_string(cut));
  }
  expect_rejected("", "empty");
  expect_rejected("<html><body>Bad Gateway</body></html>", "html");
  expect_rejected("{\"value\": 1}", "an object");
  expect_rejected("[]", "no elements");
  expect_rejected(good + good, "two documents");
  expect_rejected(good + "x", "trailing garbage");
  expect_rejected(good.substr(0, good.size() - 1) + ",{\"status\":404}]", "one element too many");
  std::string bad_utf8 = good;
  bad_utf8[bad_utf8.find("Debian")] = '\xff';
  expect_rejected(bad_utf8, "invalid UTF-8");
  expect_rejected(std::string(600, '[') + std::string(600, ']'), "nested too deep");
  for (const char* bad :
       {"[01]", "[1.]", "[1e]", "[-]", "[tru]", "[nul]", "[Nan]", "[-Inf]", "[\"a\\x\"]",
        "[\"a\x01\"]", "[\"\\u12G4\"]", "[1,]", "[{\"a\" 1}]", "[{1:2}]", "[}", "[+1]"}) {
    Walk walk(bad, {{"d:k=v", {}}});
    EXPECT_FALSE(walk.outcomes.ok()) << bad;
  }
}

TEST(WalkBulkReply, ToleratesWhatIsNotTheWholeReply) {
  // Elements that are not objects, lack a status or a value, or carry a value of the wrong
  // shape fail alone.
  std::vector<PlannedRead> reads{
      {"d:k=v", {}}, {"d:k=v", {}}, {"d:k=v", {}}, {"d:*", {}}, {"d:k=v", {}}};
  Walk walk(R"([1, {"value": {}}, {"status": 200}, {"status": 200, "value": [1]},
               {"status": 200, "value": {"A": 1, "B": true}}])",
            reads);
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  const auto& o = *walk.outcomes;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(o[i].error) << i;
  EXPECT_FALSE(o[4].error);
  EXPECT_EQ(o[4].leaves, 2u);
  EXPECT_EQ(walk.at("d<k=v><>B").number, 1);
}

TEST(WalkBulkReply, UnescapesNamesAndValues) {
  std::vector<PlannedRead> reads{{"d:*", {}}};
  Walk walk(
      R"([{"status":200,"value":{"d:type=\"q\\\"x\",name=a\/b":{"caf\u00e9":"\ud83d\ude00 \ud800 \"\\\n","n":1.0E-4,"big":123456789012345678901234567890}}}])",
      reads);
  ASSERT_TRUE(walk.outcomes.ok()) << walk.outcomes.error().to_string();
  ASSERT_EQ(walk.beans.size(), 1u);
  EXPECT_EQ(walk.beans[0], R"(d:type="q\"x",name=a/b)");
  const Seen& s = walk.at("d<type=\"q\\\"x\", name=a/b><>caf\xc3\xa9");
  EXPECT_EQ(s.text, "\xf0\x9f\x98\x80 \xef\xbf\xbd \"\\\n");
  EXPECT_EQ(walk.at("d<type=\"q\\\"x\", name=a/b><>n").text, "1.0E-4");
  EXPECT_DOUBLE_EQ(walk.at("d<type=\"q\\\"x\", name=a/b><>n").number, 1e-4);
  EXPECT_DOUBLE_EQ(walk.at("d<type=\"q\\\"x\", name=a/b><>big").number, 1.2345678901234568e29);
}

TEST(WalkBulkReply, OneAttributeAnsweredAsTheValueItself) {
  std::vector<PlannedRead> reads{{"java.lang:type=Memory", {"HeapMemoryUsage"}},
                                 {"java.lang:type=Threading", {"ThreadCount"}}};
  Walk walk(R"([{"status":200,"value":{"used":1,"max":2}},{"status":200,"value":7}])", reads);
  ASSERT_TRUE(walk.outcomes.ok());
  EXPECT_EQ(walk.at("java.lang<type=Memory><HeapMemoryUsage>used").text, "1");
  EXPECT_EQ(walk.at("java.lang<type=Threading><>ThreadCount").text, "7");
}

TEST(JmxExporterSkips, RuntimePathsAndFlightRecorder) {
  auto runtime = ObjectName::parse("java.lang:type=Runtime").value();
  auto jfr = ObjectName::parse("jdk.management.jfr:type=FlightRecorder").value();
  auto memory = ObjectName::parse("java.lang:type=Memory").value();
  std::vector<std::string> none, system_properties{"SystemProperties"};
  PropertyList props = runtime.properties;
  auto leaf = [&](const std::vector<std::string>& keys, std::string_view name) {
    return BeanLeaf{"java.lang", props, keys, name, {}};
  };
  EXPECT_TRUE(jmx_exporter_skips(runtime, leaf(none, "SystemProperties")));
  EXPECT_TRUE(jmx_exporter_skips(runtime, leaf(system_properties, "java.version")));
  EXPECT_TRUE(jmx_exporter_skips(runtime, leaf(none, "classpath")));
  EXPECT_FALSE(jmx_exporter_skips(runtime, leaf(none, "VmVendor")));
  EXPECT_TRUE(jmx_exporter_skips(jfr, leaf(none, "Recordings")));
  EXPECT_FALSE(jmx_exporter_skips(memory, leaf(none, "SystemProperties")));
}

// jmx_exporter 0.20.0's default export (a rule without `name`): the series a leaf becomes.
std::string safe_name(std::string_view name) {
  std::string out;
  if (!name.empty() && name[0] >= '0' && name[0] <= '9') out += '_';
  bool underscore = false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool legal =
        c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!legal) {
      // One Java char per UTF-8 sequence (none here is outside the BMP).
      while (c >= 0xC0 && i + 1 < name.size() &&
             (static_cast<unsigned char>(name[i + 1]) & 0xC0) == 0x80)
        ++i;
      if (!underscore) out += '_';
      underscore = true;
    } else {
      out += static_cast<char>(c);
      underscore = false;
    }
  }
  return out;
}

std::string default_series(const BeanLeaf& leaf) {
  std::string name(leaf.domain);
  if (!leaf.bean_properties.empty()) name += "_" + leaf.bean_properties[0].second;
  for (const auto& key : leaf.attr_keys) name += "_" + key;
  name += "_";
  name += leaf.attr_name;
  std::string out = safe_name(name);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (leaf.bean_properties.size() > 1) {
    out += '{';
    for (std::size_t i = 1; i < leaf.bean_properties.size(); ++i) {
      if (i > 1) out += ',';
      out += safe_name(leaf.bean_properties[i].first) + "=\"";
      for (char c : leaf.bean_properties[i].second) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      out += '"';
    }
    out += '}';
  }
  return out;
}

TEST(WalkBulkReply, YieldsEverySeriesJmxExporterExports) {
  // jmx_exporter 0.20.0 and Jolokia 1.7.2 in the same broker, two seconds apart: every
  // java.lang / java.nio / kafka series jmx_exporter made (catch-all rule, default names) must
  // come from a leaf of the walk.
  std::set<std::string> expected;
  {
    std::istringstream lines(read_data("jmx_exporter_0.20.0_series.txt"));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) expected.insert(line);
    }
  }
  ASSERT_GT(expected.size(), 5000u);
  std::set<std::string> ours;
  std::set<std::string> nulls;
  std::set<std::string> strings_only;  // leaves a rule without `value:` drops
  const ObjectName* bean = nullptr;
  auto outcomes = walk_bulk_reply(
      read_data("all_beans.json"), {{"*:*", {}}},
      [&](const ObjectName& name) {
        bean = &name;
        return name.domain == "java.lang" || name.domain == "java.nio" ||
               name.domain.starts_with("kafka");
      },
      [&](const BeanLeaf& leaf) {
        if (jmx_exporter_skips(*bean, leaf)) return;
        if (leaf.value.kind == LeafValue::Kind::kString) {
          strings_only.insert(default_series(leaf));
          return;
        }
        if (leaf.value.kind == LeafValue::Kind::kNull) nulls.insert(default_series(leaf));
        ours.insert(default_series(leaf));
      });
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  EXPECT_GE(ours.size(), expected.size());
  std::vector<std::string> missing;
  for (const auto& series : expected) {
    if (!ours.count(series)) missing.push_back(series);
  }
  EXPECT_TRUE(missing.empty()) << missing.size()
                               << " series of jmx_exporter not made by the walk, e.g. "
                               << (missing.empty() ? "" : missing.front());
  // The other way round, what the walk yields and jmx_exporter did not export is what the
  // header documents: Java nulls (a pool's CollectionUsage without a collector), which Jolokia
  // 1.x writes like NaN.
  for (const auto& series : ours) {
    if (!expected.count(series)) {
      EXPECT_TRUE(nulls.count(series)) << "not exported by jmx_exporter: " << series;
    }
  }
}

}  // namespace
}  // namespace khe::jmx
