// Runs the rules engine on the MBeans of a bean spec (bean_spec.h) and prints the series in
// the text format: the "ours" side of jmx_rules_oracle.py.
//
//   jmx_rules_replay [--planned] SPEC RULES.yaml [0.20|1.x]
//   jmx_rules_replay --plan RULES.yaml        (prints the planned Jolokia reads)
//
// --planned: only the leaves the rules' plan() reads reach the rules (what the bridge does), and
// the number of leaves read out of all goes to stderr.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "bean_spec.h"
#include "khe/jmx/jmx_rules.h"
#include "khe/jmx/rules_planner.h"
#include "khe/metrics/text_format.h"

namespace {

int print_plan(const char* path) {
  auto rules = khe::jmx::JmxRules::load_file(path);
  if (!rules) {
    std::cerr << rules.error().to_string() << "\n";
    return 1;
  }
  for (const auto& read : rules->plan()) {
    std::cout << read.mbean;
    for (std::size_t i = 0; i < read.attributes.size(); ++i) {
      std::cout << (i == 0 ? "  " : ",") << read.attributes[i];
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--plan") return print_plan(argv[2]);
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
  auto spec = khe::jmx::testing::read_bean_spec(argv[1]);
  if (!spec) {
    std::cerr << spec.error().to_string() << "\n";
    return 2;
  }
  auto coverage = khe::jmx::PlanCoverage::create(rules->plan());
  if (!coverage) {
    std::cerr << "plan: " << coverage.error().to_string() << "\n";
    return 1;
  }
  std::vector<bool> included(spec->beans.size());
  for (std::size_t i = 0; i < spec->beans.size(); ++i)
    included[i] = rules->includes(spec->beans[i]);
  std::size_t leaves = 0, read = 0;
  khe::jmx::FamilyBuilder builder;
  for (const auto& leaf : spec->leaves) {
    if (!included[leaf.bean]) continue;
    ++leaves;
    if (planned && !coverage->reads(spec->beans[leaf.bean], leaf.top_attribute())) continue;
    ++read;
    rules->apply(spec->leaf(leaf), builder);
  }
  if (planned) std::cerr << "plan reads " << read << " of " << leaves << " leaves\n";
  std::string out;
  khe::render_text(std::move(builder).take(), out);
  std::cout << out;
  return 0;
}
