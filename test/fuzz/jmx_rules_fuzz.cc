// libFuzzer target for the JMX rules engine: everything that reads a rules file (YAML loading,
// the Java regex parser and its PCRE2 translation, replacement templates, the read planner) and
// applying the rules to leaves whose names and values come from the input too. Built only with
// clang (-fsanitize=fuzzer,address,undefined).
//
// Input: rules YAML, optionally followed by "\n#leaf\n" and leaf text
// "domain|key=value,...|attr|value". The first line of the input is also compiled as a bare
// pattern, the second used as its template.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "khe/jmx/java_regex.h"
#include "khe/jmx/jmx_rules.h"

namespace {

using namespace khe::jmx;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

void apply_all(const JmxRules& rules, const ObjectName& bean, const std::vector<std::string>& keys,
               std::string_view attr, FamilyBuilder& out) {
  if (!rules.includes(bean)) return;
  for (auto kind : {LeafValue::Kind::kNumber, LeafValue::Kind::kBoolean, LeafValue::Kind::kString,
                    LeafValue::Kind::kNull}) {
    rules.apply(BeanLeaf{bean.domain, bean.properties, keys, attr, LeafValue{kind, 1.5, "1.5"}},
                out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_java_double(input);

  auto lines = split(input, '\n');
  if (auto regex = JavaRegex::compile(lines[0])) {
    const std::size_t* groups = nullptr;
    if (regex->full_match(input, &groups) && lines.size() > 1) {
      if (auto replacement = JavaReplacement::parse(lines[1], &*regex)) {
        std::string out;
        replacement->expand(input, groups, out);
      }
    }
  }

  std::string_view yaml = input, leaf_text;
  if (auto at = input.find("\n#leaf\n"); at != std::string_view::npos) {
    yaml = input.substr(0, at);
    leaf_text = input.substr(at + 7);
  }
  for (auto naming : {CounterNaming::kJmxExporter020, CounterNaming::kJmxExporter1x}) {
    auto rules = JmxRules::parse(yaml, "fuzz.yaml", naming);
    if (!rules) continue;
    (void)rules->plan();
    (void)rules->ignored_keys();
    FamilyBuilder out;
    out.set_constant_labels({{"broker", "1"}});
    const std::vector<std::string> no_keys, keys{"HeapMemoryUsage"};
    for (const char* name :
         {"kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=orders",
          "kafka.log:type=Log,name=Size,topic=t,partition=0", "java.lang:type=Memory",
          "java.lang:type=Runtime", "a:b=c"}) {
      auto bean = ObjectName::parse(name);
      apply_all(*rules, *bean, no_keys, "Count", out);
      apply_all(*rules, *bean, keys, "used", out);
    }
    auto parts = split(leaf_text, '|');
    if (parts.size() >= 3) {
      auto bean = ObjectName::parse(std::string(parts[0]) + ":" + std::string(parts[1]));
      if (bean) {
        apply_all(*rules, *bean, no_keys, parts[2], out);
        if (parts.size() >= 4) {
          rules->apply(BeanLeaf{bean->domain, bean->properties, no_keys, parts[2],
                                LeafValue{LeafValue::Kind::kString, 0, parts[3]}},
                       out);
        }
      }
    }
    (void)std::move(out).take();
  }
  return 0;
}
