// Runs the rules engine on the MBeans of a bean spec (the format JmxRulesOracle.java reads)
// and prints the series in the text format: the "ours" side of jmx_rules_oracle.py.
//
//   jmx_rules_replay [--planned] SPEC RULES.yaml [0.20|1.x]
//   jmx_rules_replay --plan RULES.yaml        (prints the planned Jolokia reads)
//
// --planned: only the leaves the rules' plan() reads reach the rules (what the bridge does), and
// the number of leaves read out of all leaves goes to stderr.
//
// Spec lines: `bean <ObjectName>`, `attr <Name> <int|long|double|float|boolean|string|null>
// <value as Java prints it>`, `composite <Name> item=type:value;...`, `# comment`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "khe/jmx/jmx_rules.h"
#include "khe/metrics/text_format.h"

namespace {

using khe::jmx::BeanLeaf;
using khe::jmx::LeafValue;

LeafValue value_of(const std::string& type, const std::string& text) {
  LeafValue v;
  v.text = text;
  if (type == "string") {
    v.kind = LeafValue::Kind::kString;
  } else if (type == "null") {
    v.kind = LeafValue::Kind::kNull;
    v.text = "null";
  } else if (type == "boolean") {
    v.kind = LeafValue::Kind::kBoolean;
    v.number = text == "true" ? 1 : 0;
  } else {
    v.kind = LeafValue::Kind::kNumber;
    v.number = text == "NaN" ? std::nan("") : std::stod(text);
  }
  return v;
}

}  // namespace

bool planned_read(const std::vector<khe::jmx::PlannedRead>& plan,
                  const std::vector<khe::jmx::ObjectNamePattern>& patterns,
                  const khe::jmx::ObjectName& bean, const std::string& attribute) {
  for (std::size_t i = 0; i < plan.size(); ++i) {
    if (!patterns[i].matches(bean)) continue;
    const auto& attrs = plan[i].attributes;
    if (attrs.empty() || std::find(attrs.begin(), attrs.end(), attribute) != attrs.end())
      return true;
  }
  return false;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--plan") {
    auto rules = khe::jmx::JmxRules::load_file(argv[2]);
    if (!rules) {
      std::cerr << rules.error().to_string() << "\n";
      return 1;
    }
    for (const auto& read : rules->plan()) {
      std::cout << read.mbean;
      for (const auto& a : read.attributes)
        std::cout << (&a == &read.attributes.front() ? "  " : ",") << a;
      std::cout << "\n";
    }
    return 0;
  }
  bool planned = argc > 1 && std::string(argv[1]) == "--planned";
  if (planned) {
    --argc;
    ++argv;
  }
  if (argc < 3) {
    std::cerr << "usage: jmx_rules_replay [--planned] SPEC RULES.yaml [0.20|1.x]\n";
    return 2;
  }
  auto naming = argc > 3 && std::string(argv[3]) == "1.x"
                    ? khe::jmx::CounterNaming::kJmxExporter1x
                    : khe::jmx::CounterNaming::kJmxExporter020;
  auto rules = khe::jmx::JmxRules::load_file(argv[2], naming);
  if (!rules) {
    std::cerr << rules.error().to_string() << "\n";
    return 1;
  }
  std::ifstream spec(argv[1]);
  if (!spec) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 2;
  }
  const auto plan = rules->plan();
  std::vector<khe::jmx::ObjectNamePattern> patterns;
  for (const auto& read : plan) {
    auto pattern = khe::jmx::ObjectNamePattern::parse(read.mbean);
    if (!pattern) {
      std::cerr << "plan: " << pattern.error().to_string() << "\n";
      return 1;
    }
    patterns.push_back(std::move(pattern).value());
  }
  std::size_t leaves = 0, read = 0;
  khe::jmx::FamilyBuilder builder;
  std::optional<khe::jmx::ObjectName> bean;
  bool included = false;
  const std::vector<std::string> no_keys;
  std::string line;
  while (std::getline(spec, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    std::istringstream in(line);
    std::string kind;
    in >> kind;
    if (kind == "bean") {
      auto parsed = khe::jmx::ObjectName::parse(line.substr(5));
      if (!parsed) {
        std::cerr << parsed.error().to_string() << "\n";
        return 2;
      }
      bean = std::move(parsed).value();
      included = rules->includes(*bean);
      continue;
    }
    if (!bean) return 2;
    std::string name, rest;
    in >> name;
    std::getline(in, rest);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
    if (!included) continue;
    ++leaves;
    if (planned && !planned_read(plan, patterns, *bean, name)) continue;
    ++read;
    if (kind == "attr") {
      auto space = rest.find(' ');
      std::string type = rest.substr(0, space);
      std::string text = space == std::string::npos ? "" : rest.substr(space + 1);
      BeanLeaf leaf{bean->domain, bean->properties, no_keys, name, value_of(type, text)};
      rules->apply(leaf, builder);
    } else if (kind == "composite") {
      const std::vector<std::string> keys{name};
      std::stringstream items(rest);
      std::string item;
      std::vector<std::pair<std::string, std::string>> sorted;  // CompositeType keys are sorted
      while (std::getline(items, item, ';')) {
        auto eq = item.find('=');
        sorted.emplace_back(item.substr(0, eq), item.substr(eq + 1));
      }
      std::sort(sorted.begin(), sorted.end());
      for (const auto& [item_name, typed] : sorted) {
        auto colon = typed.find(':');
        std::string text = typed.substr(colon + 1);
        BeanLeaf leaf{bean->domain, bean->properties, keys, item_name,
                      value_of(typed.substr(0, colon), text)};
        rules->apply(leaf, builder);
      }
    } else {
      std::cerr << "bad spec line: " << line << "\n";
      return 2;
    }
  }
  if (planned) std::cerr << "plan reads " << read << " of " << leaves << " attributes\n";
  std::string out;
  khe::render_text(std::move(builder).take(), out);
  std::cout << out;
  return 0;
}
