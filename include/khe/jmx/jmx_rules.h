// jmx_exporter's rules, so that users bring their existing rules files unchanged and get the
// same series. Semantics follow jmx_exporter 0.20.0 (JmxCollector, JmxScraper, its bundled
// SnakeYAML and simpleclient), checked against its own JmxCollector by
// test/oracle/jmx_rules_oracle.py; 1.x's counter naming (`_total` appended) is an option.
//
// Loading is strict and reports `file:line: key: reason` (kind kConfig), never throws:
// - keys jmx_exporter 0.20 does not know are errors; its connection and HTTP keys (hostPort,
//   jmxUrl, username, password, ssl, startDelaySeconds, httpServer,
//   autoExcludeObjectNameAttributes, and cacheRules, which its own example kafka-2_0_0.yml
//   carries) are accepted, checked as it checks them, and listed by ignored_keys();
// - values are read as SnakeYAML reads them (yes/on are booleans, 0x10 and 010 are ints) and
//   must have the Java type jmx_exporter casts them to (a `name: 123` is an error; quote it);
// - what jmx_exporter only trips over while scraping is an error here: a template naming a
//   group the pattern does not have, a `$` not followed by a group, a non-numeric valueFactor
//   (jmx_exporter silently uses 1), a `value:` on a rule without a pattern.
// Patterns are Java regexes (java_regex.h): matched as ^.*(?:P).*$ against
// `domain<k1=v1, k2=v2><key1, key2>attrName: value`, with Matcher.replaceAll templates.
//
// Matching follows Receiver.recordBean: first matching rule wins; a rule without `name` uses
// the default naming; values are the leaf's number x valueFactor, or the `value:` template
// (unparseable: the leaf is dropped), booleans 1/0 (no factor), strings only through `value:`.
// Leaves JmxScraper never reads are skipped (java.lang:type=Runtime's SystemProperties,
// ClassPath, BootClassPath, LibraryPath; jdk.management.jfr:type=FlightRecorder), as are
// excludeObjectNameAttributes. A JSON null (LeafValue::kNull) is Jolokia 1.x's spelling of a
// Double NaN in Kafka's domains (exported as NaN, as jmx_exporter exports the NaN) and a real
// null in the JVM's platform domains (skipped, as jmx_exporter skips it). Types: GAUGE,
// COUNTER, UNTYPED/UNKNOWN (the default), and what 0.20 also accepts (SUMMARY, HISTOGRAM,
// GAUGE_HISTOGRAM, STATE_SET, INFO) as its text format types them.
//
// A loaded JmxRules is immutable; apply() and plan() are const and thread-safe. The only
// mutable state is the memo behind `cache: true` rules (one entry per bean and attribute,
// bounded in size, its own lock). Per-thread scratch buffers and PCRE2 match data keep apply()
// free of allocations once warm, apart from the samples it adds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"
#include "khe/core/metric_family.h"
#include "khe/jmx/bean_leaf.h"
#include "khe/jmx/object_name.h"

namespace khe::jmx {

enum class CounterNaming {
  // Names exactly as the rule writes them, as jmx_exporter 0.20.x's text format does. A COUNTER
  // whose name lacks `_total` is exposed untyped: 0.20 puts `# TYPE <name>_total counter` above
  // samples named <name>, which Prometheus reads as untyped. (Prometheus negotiates
  // OpenMetrics with 0.20, which then names those samples <name>_total: kJmxExporter1x's names.)
  kJmxExporter020,
  kJmxExporter1x,  // COUNTER names get `_total` appended unless they already end in it
};

// One Jolokia pattern read: what the planner decided must be read to feed the rules.
struct PlannedRead {
  std::string mbean;  // ObjectName pattern, e.g. "kafka.server:type=BrokerTopicMetrics,*"
  std::vector<std::string> attributes;  // empty: every attribute (a rule could match any)
  bool operator==(const PlannedRead&) const = default;
};

// Groups the samples rules produce into families. jmx_exporter lets samples of one name carry
// different label names; a Family has one label list, so the builder keeps the union of label
// names in first-seen order and leaves absent labels empty (the renderer omits empty labels,
// which is what Prometheus does with them anyway). The first sample of a name fixes its type
// and help. A sample whose name and labels repeat an earlier one is dropped, as jmx_exporter
// does. Not thread-safe: one builder per collection.
class FamilyBuilder {
 public:
  FamilyBuilder();
  ~FamilyBuilder();
  FamilyBuilder(const FamilyBuilder&) = delete;
  FamilyBuilder& operator=(const FamilyBuilder&) = delete;

  // Labels in the order the rule produced them. Returns false when dropped as a duplicate.
  bool add(std::string_view name, std::string_view help, MetricType type,
           const std::vector<std::pair<std::string, std::string>>& labels, double value);
  // The same for one sample of a summary or histogram (`_count`, `_sum`, `_bucket`).
  bool add_with_suffix(std::string_view name, std::string_view help, MetricType type,
                       const std::vector<std::pair<std::string, std::string>>& labels,
                       SampleSuffix suffix, double value);
  // Labels added to every later sample (the target's broker). A sample that already has a
  // label of that name keeps its value under `exported_<name>`, as Prometheus does with
  // honor_labels: false.
  void set_constant_labels(std::vector<std::pair<std::string, std::string>> labels);
  // Whether a family of that name exists (its type and help are then fixed).
  bool has_family(std::string_view name) const;
  std::size_t sample_count() const;
  std::vector<Family> take() &&;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class JmxRules {
 public:
  // `source` names the text in error messages (a file path).
  static Result<JmxRules> parse(std::string_view yaml_text, std::string_view source,
                                CounterNaming counter_naming = CounterNaming::kJmxExporter020);
  static Result<JmxRules> load_file(const std::string& path,
                                    CounterNaming counter_naming = CounterNaming::kJmxExporter020);

  JmxRules(JmxRules&&) noexcept;
  JmxRules& operator=(JmxRules&&) noexcept;
  ~JmxRules();

  // includeObjectNames / excludeObjectNames (and the older whitelist/blacklist spellings).
  bool includes(const ObjectName& name) const;

  // jmx_exporter's Receiver.recordBean: builds the match string, tries the rules in order,
  // the first match wins; adds at most one sample to `out`. Leaves whose bean is not
  // included must not be passed (callers filter with includes() once per bean).
  void apply(const BeanLeaf& leaf, FamilyBuilder& out) const;

  // The smallest set of Jolokia pattern reads that still feeds every rule: MBean patterns from
  // includeObjectNames narrowed by what the rules' patterns can match (domain, leading
  // properties), and the attribute names a rule can match when its pattern names them
  // literally (e.g. `><>(Count|Value)`). A rule the planner cannot narrow widens the plan,
  // never the other way round: the plan may read more than needed, never less. The planner's
  // assumptions are in rules_planner.h. Computed once when loading.
  std::vector<PlannedRead> plan() const;

  // Settings other parts need.
  // Keys accepted for compatibility that mean nothing here (hostPort, jmxUrl, ssl, ...).
  std::vector<std::string> ignored_keys() const;
  bool lowercase_output_name() const;
  std::size_t rule_count() const;

 private:
  struct State;
  explicit JmxRules(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace khe::jmx
