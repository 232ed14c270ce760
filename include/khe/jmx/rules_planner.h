// The read planner: which Jolokia pattern reads feed a set of jmx_exporter rules.
//
// jmx_exporter reads every attribute of every included MBean and then tries the rules. Most
// of that is thrown away: on a broker with 10k partitions most beans are per-partition gauges
// no rule asks for. The planner reads each rule's pattern (its parsed AST) against the shape of
// jmx_exporter's match string
//
//     domain<k1=v1, k2=v2><key1, key2>attrName: value
//
// and derives, per rule (and per alternative of a top-level or literal alternation):
//   - the domain as a JMX wildcard. The pattern is unanchored, so "kafka.server<" means "any
//     domain ending in kafka?server" (regex '.' is JMX '?'): "*kafka?server".
//   - key properties: the first property's key and value prefix (right after '<'), further
//     properties while no part of the pattern can run across ", " or '=', and every
//     ", key=" literal (a property boundary wherever it falls). Emitted as "k=v*" constraints;
//     JMX matches them in any order, which only ever widens.
//   - attributes: the composite key when `<key>` is literal; otherwise the attribute names a
//     literal or an alternation allows ("><>(Count|Value)"). A pattern that ends after the
//     attribute literal ("><>Count") also matches longer names in jmx_exporter ("CountX");
//     those are looked up in a catalogue of the attribute names the JVM's platform MBeans and
//     Kafka's Yammer metrics (meters, timers, histograms, gauges) have, so "Usage" also reads
//     "UsageThreshold...". Attributes that may start with a lower-case letter (Kafka's own
//     metrics, "connection-count") or that the pattern leaves open are read in full.
// Reads are then intersected with includeObjectNames, merged per MBean pattern, and reads
// another read covers are dropped.
//
// Assumptions: '<' and '>' occur in the match string only where jmx_exporter puts them (not
// inside domains, keys, values or attribute names), and ", " only between properties; and an
// attribute name that starts with an upper-case letter or a digit and extends a rule's literal
// belongs to the catalogue (known_attribute_names()). Anything else the planner cannot place
// widens the read, up to "*:*" with every attribute. Verified against jmx_exporter's own output
// by test/oracle/jmx_rules_oracle.py (every series there is also produced from the planned
// reads alone) and on real brokers.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "khe/jmx/java_regex.h"
#include "khe/jmx/jmx_rules.h"
#include "khe/jmx/object_name.h"

namespace khe::jmx {

struct PlanRule {
  const RegexAst* wrapped = nullptr;   // the rule's compiled ^.*(?:P).*$; nullptr: no pattern
  bool snake_case_attributes = false;  // attrNameSnakeCase: the match string has snake_case names
};

// `includes` nullptr: every MBean (no includeObjectNames); an empty vector: none.
std::vector<PlannedRead> plan_reads(const std::vector<PlanRule>& rules,
                                    const std::vector<ObjectNamePattern>* includes,
                                    const std::vector<ObjectNamePattern>& excludes);

// True when every name `inner` (a JMX wildcard: * and ?) matches is matched by `outer`.
bool wildcard_covers(std::string_view outer, std::string_view inner);

// Attribute names of the JVM platform MBeans and Kafka's Yammer metric MBeans.
const std::vector<std::string_view>& known_attribute_names();

// Whether a plan reads a given attribute of a given MBean, as Jolokia would serve the plan's
// pattern reads: for tests and benchmarks that compare planned reads with reading everything.
// Immutable once created.
class PlanCoverage {
 public:
  // Error (kInternal) when a planned read's mbean is not an ObjectName pattern.
  static Result<PlanCoverage> create(const std::vector<PlannedRead>& plan);
  // `attribute`: the MBean attribute itself (the outermost key of a composite leaf).
  bool reads(const ObjectName& bean, std::string_view attribute) const;

 private:
  struct Read {
    ObjectNamePattern pattern;
    std::vector<std::string> attributes;  // empty: every attribute
  };
  std::vector<Read> reads_;
};

}  // namespace khe::jmx
