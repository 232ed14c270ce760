#include "khe/jmx/rules_planner.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace khe::jmx {
namespace {

// Expanding literal alternations into separate reads stops here; beyond it the group is
// treated as "some characters".
constexpr std::size_t kMaxAlternatives = 64;

// One element of a pattern as the planner sees it: a known byte, or a run of unknown
// characters drawn from `set`, `min`..`max` (-1: unbounded) long.
struct Unit {
  bool literal = false;
  char ch = 0;
  CharSetInfo set;
  int min = 1, max = 1;
};
using Units = std::vector<Unit>;

Unit literal_unit(char c) {
  Unit u;
  u.literal = true;
  u.ch = c;
  if (static_cast<unsigned char>(c) < 128)
    u.set.ascii.set(static_cast<unsigned char>(c));
  else
    u.set.non_ascii = true;
  return u;
}

Unit var_unit(CharSetInfo set, int min, int max) {
  Unit u;
  u.set = set;
  u.min = min;
  u.max = max;
  return u;
}

bool is_lit(const Unit& u, char c) { return u.literal && u.ch == c; }

CharSetInfo everything() {
  CharSetInfo s;
  s.ascii.set();
  s.non_ascii = true;
  return s;
}

struct Summary {
  CharSetInfo set;
  int min = 0, max = 0;
};

// Lengths saturate: past this a length is as good as unbounded for planning.
constexpr long kLongLength = 1 << 20;

int clamp_length(long n) { return static_cast<int>(std::min(n, kLongLength)); }
int add_len(int a, int b) { return a < 0 || b < 0 ? -1 : clamp_length(static_cast<long>(a) + b); }

Summary summarize(const RegexNode& node);

Summary summarize_sequence(const std::vector<RegexNode>& seq) {
  Summary total;
  for (const auto& node : seq) {
    Summary s = summarize(node);
    total.set.ascii |= s.set.ascii;
    total.set.non_ascii = total.set.non_ascii || s.set.non_ascii;
    total.min = clamp_length(static_cast<long>(total.min) + s.min);
    total.max = add_len(total.max, s.max);
  }
  return total;
}

Summary summarize(const RegexNode& node) {
  using Kind = RegexNode::Kind;
  using Group = RegexNode::Group;
  switch (node.kind) {
    case Kind::kLiteral:
    case Kind::kCharSet:
      return {node.set, 1, 1};
    case Kind::kMulti:
      return {node.set, 1, -1};
    case Kind::kAssertion:
    case Kind::kFlags:
      return {};
    case Kind::kBackref:
      return {everything(), 0, -1};
    case Kind::kGroup: {
      if (node.group == Group::kLookahead || node.group == Group::kNegLookahead ||
          node.group == Group::kLookbehind || node.group == Group::kNegLookbehind) {
        return {};
      }
      Summary out;
      bool first = true;
      for (const auto& alt : node.alternatives) {
        Summary s = summarize_sequence(alt);
        out.set.ascii |= s.set.ascii;
        out.set.non_ascii = out.set.non_ascii || s.set.non_ascii;
        out.min = first ? s.min : std::min(out.min, s.min);
        out.max = first ? s.max : (out.max < 0 || s.max < 0 ? -1 : std::max(out.max, s.max));
        first = false;
      }
      return out;
    }
    case Kind::kRepeat: {
      Summary child = summarize(node.alternatives[0][0]);
      Summary out{child.set, clamp_length(static_cast<long>(child.min) * node.min), 0};
      if (child.max == 0)
        out.max = 0;
      else if (child.max < 0 || node.max < 0)
        out.max = -1;
      else
        out.max = clamp_length(static_cast<long>(child.max) * node.max);
      return out;
    }
  }
  return {everything(), 0, -1};
}

void append_unit(std::vector<Units>& alts, const Unit& u) {
  for (auto& alt : alts) alt.push_back(u);
}

void expand_sequence(const std::vector<RegexNode>& seq, std::vector<Units>& alts);

void expand_node(const RegexNode& node, std::vector<Units>& alts) {
  using Kind = RegexNode::Kind;
  using Group = RegexNode::Group;
  switch (node.kind) {
    case Kind::kLiteral: {
      if (node.caseless) {
        append_unit(alts, var_unit(node.set, 1, 1));
        return;
      }
      std::string bytes;
      append_utf8(node.literal, bytes);
      for (char c : bytes) append_unit(alts, literal_unit(c));
      return;
    }
    case Kind::kCharSet:
    case Kind::kMulti:
    case Kind::kBackref: {
      Summary s = summarize(node);
      append_unit(alts, var_unit(s.set, s.min, s.max));
      return;
    }
    case Kind::kAssertion:
    case Kind::kFlags:
      return;  // zero-width: leaving them out only widens
    case Kind::kGroup: {
      if (node.group == Group::kLookahead || node.group == Group::kNegLookahead ||
          node.group == Group::kLookbehind || node.group == Group::kNegLookbehind) {
        return;
      }
      if (node.alternatives.size() == 1) {
        expand_sequence(node.alternatives[0], alts);
        return;
      }
      std::vector<Units> options;
      for (const auto& alt : node.alternatives) {
        std::vector<Units> sub{{}};
        expand_sequence(alt, sub);
        for (auto& s : sub) options.push_back(std::move(s));
      }
      if (alts.size() * options.size() > kMaxAlternatives) {
        Summary s = summarize(node);
        append_unit(alts, var_unit(s.set, s.min, s.max));
        return;
      }
      std::vector<Units> product;
      for (const auto& prefix : alts) {
        for (const auto& option : options) {
          Units joined = prefix;
          joined.insert(joined.end(), option.begin(), option.end());
          product.push_back(std::move(joined));
        }
      }
      alts = std::move(product);
      return;
    }
    case Kind::kRepeat: {
      if (node.min == 1 && node.max == 1) {
        expand_node(node.alternatives[0][0], alts);
        return;
      }
      Summary s = summarize(node);
      append_unit(alts, var_unit(s.set, s.min, s.max));
      return;
    }
  }
}

void expand_sequence(const std::vector<RegexNode>& seq, std::vector<Units>& alts) {
  for (const auto& node : seq) expand_node(node, alts);
}

// The alternatives of P inside jmx_exporter's ^.*(?:P).*$, or nullptr when the pattern text
// broke out of the wrapper (an unbalanced ')' in P) and the shape is not that.
const std::vector<std::vector<RegexNode>>* rule_alternatives(const RegexAst& wrapped) {
  if (wrapped.alternatives.size() != 1) return nullptr;
  const auto& seq = wrapped.alternatives[0];
  if (seq.size() != 5) return nullptr;
  const auto& group = seq[2];
  if (group.kind != RegexNode::Kind::kGroup || group.group != RegexNode::Group::kNonCapture)
    return nullptr;
  return &group.alternatives;
}

// A read for one alternative of one rule.
struct Shape {
  std::string domain = "*";
  PropertyList properties;
  std::optional<std::vector<std::string>> attributes;  // nullopt: every attribute
};

std::string domain_pattern(const Units& units, bool anchored, bool* impossible) {
  std::string d = anchored ? "" : "*";
  for (const auto& u : units) {
    if (u.literal) {
      if (u.ch == ':' || u.ch == '*' || u.ch == '?') {
        *impossible = true;  // no domain contains these
        return "*";
      }
      // JMX refuses control characters in names, and one malformed ObjectName fails a whole
      // Jolokia bulk request: such a character only widens.
      d += static_cast<unsigned char>(u.ch) < 0x20 ? '?' : u.ch;
    } else if (u.max == 0) {
      continue;
    } else if (u.min == 1 && u.max == 1) {
      d += '?';
    } else if (d.empty() || d.back() != '*') {
      d += '*';
    }
  }
  if (d.empty()) return "*";
  return d;
}

bool has_control(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

bool clean_key(const std::string& key) {
  return !key.empty() && key.find_first_of("*?,=:\"") == std::string::npos && !has_control(key);
}

std::string clean_value(const std::string& value) {
  if (value.empty() || value.find_first_of(",=:\"\\") != std::string::npos || has_control(value))
    return "*";
  return value;
}

// Key properties the PROPS part of a pattern requires (see the header).
PropertyList property_constraints(const Units& units, bool start_known, bool end_known) {
  PropertyList out;
  enum class State { kKey, kValue, kLost } state = start_known ? State::kKey : State::kLost;
  std::string key, value;
  bool key_known = true, open = false;
  auto emit = [&](bool complete) {
    if (state != State::kValue || !key_known || !clean_key(key)) return;
    for (const auto& [k, v] : out) {
      if (k == key) return;
    }
    std::string pattern = value;
    if (!complete || open) {
      if (pattern.empty() || pattern.back() != '*') pattern += '*';
    }
    out.emplace_back(key, clean_value(pattern));
  };
  auto start_key = [&] {
    state = State::kKey;
    key.clear();
    key_known = true;
  };
  for (std::size_t i = 0; i < units.size(); ++i) {
    const Unit& u = units[i];
    bool comma_space = is_lit(u, ',') && i + 1 < units.size() && is_lit(units[i + 1], ' ');
    switch (state) {
      case State::kLost:
        // ", " only ever separates properties: the key after it is known again.
        if (comma_space) {
          ++i;
          start_key();
        }
        break;
      case State::kKey:
        if (u.literal) {
          if (u.ch == '=') {
            state = State::kValue;
            value.clear();
            open = false;
          } else if (u.ch == ',' || u.ch == '<' || u.ch == '>') {
            state = State::kLost;
          } else {
            key += u.ch;
          }
        } else if (u.max != 0) {
          if (u.set.may_match('=') || u.set.may_match(','))
            state = State::kLost;
          else
            key_known = false;
        }
        break;
      case State::kValue:
        if (u.literal) {
          if (u.ch == ',') {
            emit(true);
            if (comma_space) {
              ++i;
              start_key();
            } else {
              state = State::kLost;
            }
          } else if (!open) {
            value += u.ch;
          }
        } else if (u.max != 0) {
          if (u.set.may_match(',')) {
            emit(false);
            state = State::kLost;
          } else if (!open) {
            if (u.min == 1 && u.max == 1)
              value += '?';
            else if (value.empty() || value.back() != '*')
              value += '*';
          }
        }
        break;
    }
  }
  if (state == State::kValue) emit(end_known);
  return out;
}

std::string pcre_escape_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z'))
    return std::string(1, c);
  char buf[12];
  std::snprintf(buf, sizeof buf, "\\x{%X}", u);
  return buf;
}

// A PCRE2 pattern that matches at least what `units` match (units lose the structure of
// groups, never characters).
std::string units_regex(const Units& units) {
  std::string out;
  for (const auto& u : units) {
    if (u.literal) {
      if (static_cast<unsigned char>(u.ch) >= 0x80) return "";  // multi-byte: give up
      out += pcre_escape_byte(u.ch);
      continue;
    }
    if (u.max == 0) continue;
    std::string cls;
    if (u.set.ascii.all() && u.set.non_ascii) {
      cls = "(?s:.)";
    } else {
      cls = "[";
      for (int c = 0; c < 128; ++c) {
        if (u.set.ascii.test(static_cast<std::size_t>(c)))
          cls += pcre_escape_byte(static_cast<char>(c));
      }
      if (u.set.non_ascii) cls += "\\x{80}-\\x{10FFFF}";
      cls += "]";
      if (cls == "[]") cls = "(?!)";
    }
    out += cls;
    if (u.max < 0)
      out += "{" + std::to_string(u.min) + ",}";
    else
      out += "{" + std::to_string(u.min) + "," + std::to_string(u.max) + "}";
  }
  return out;
}

// Attribute names the ATTR part of a pattern (what follows "<keys>") can match; nullopt: all.
std::optional<std::vector<std::string>> attribute_names(const Units& units) {
  std::string literal;
  std::size_t j = 0;
  while (j < units.size() && units[j].literal && units[j].ch != ':') literal += units[j++].ch;
  if (j < units.size() && is_lit(units[j], ':')) {
    if (literal.empty()) return std::nullopt;
    return std::vector<std::string>{literal};
  }
  std::string regex = units_regex(units);
  if (regex.empty() && !units.empty()) return std::nullopt;
  auto compiled = JavaRegex::compile_raw_anchored(regex);
  if (!compiled) return std::nullopt;
  // Names that may start with anything but an upper-case letter or a digit are Kafka's own
  // metric names (lower-case, open-ended): read them all.
  for (int c = 0x20; c < 0x7F; ++c) {
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    if (compiled->prefix_or_partial_match(std::string(1, static_cast<char>(c))))
      return std::nullopt;
  }
  if (compiled->prefix_or_partial_match("\xC3\xA9")) return std::nullopt;
  std::set<std::string> names;
  auto consider = [&](std::string_view name) {
    if (compiled->prefix_or_partial_match(std::string(name) + ": "))
      names.insert(std::string(name));
  };
  for (auto name : known_attribute_names()) consider(name);
  if (!literal.empty()) consider(literal);
  if (names.empty()) return std::nullopt;
  return std::vector<std::string>(names.begin(), names.end());
}

// nullopt: the alternative cannot match any MBean.
std::optional<Shape> analyze(const Units& units, bool anchored, bool snake_case) {
  Shape shape;
  auto n = static_cast<long>(units.size());
  long b2 = -1;
  for (long i = 0; i + 1 < n; ++i) {
    if (is_lit(units[static_cast<std::size_t>(i)], '>') &&
        is_lit(units[static_cast<std::size_t>(i + 1)], '<')) {
      b2 = i;
      break;
    }
  }
  auto slice = [&](long from, long to) {
    from = std::max<long>(from, 0);
    to = std::min<long>(to, n);
    if (from >= to) return Units{};
    return Units(units.begin() + from, units.begin() + to);
  };
  bool impossible = false;
  if (b2 >= 0) {
    long b1 = -1, b4 = -1;
    for (long j = b2 - 1; j >= 0; --j) {
      if (is_lit(units[static_cast<std::size_t>(j)], '<')) {
        b1 = j;
        break;
      }
    }
    for (long k = b2 + 2; k < n; ++k) {
      if (is_lit(units[static_cast<std::size_t>(k)], '>')) {
        b4 = k;
        break;
      }
    }
    if (b1 >= 0) shape.domain = domain_pattern(slice(0, b1), anchored, &impossible);
    if (impossible) return std::nullopt;
    shape.properties = property_constraints(slice(b1 + 1, b2), b1 >= 0, true);
    if (b4 < 0) return shape;  // attribute part unknown
    Units keys = slice(b2 + 2, b4);
    std::string literal;
    bool all_literal = true;
    for (const auto& u : keys) {
      if (!u.literal) {
        all_literal = false;
        break;
      }
      literal += u.ch;
    }
    if (all_literal && literal.empty()) {
      if (!snake_case) shape.attributes = attribute_names(slice(b4 + 1, n));
      return shape;
    }
    // A composite or tabular attribute: the first key is the attribute jmx_exporter read.
    auto comma = literal.find(", ");
    if (all_literal || comma != std::string::npos) {
      shape.attributes = std::vector<std::string>{literal.substr(0, comma)};
    }
    return shape;
  }
  // No "><": the first '<' after a character that cannot be '>' still ends the domain.
  long l = -1;
  for (long j = 0; j < n; ++j) {
    if (is_lit(units[static_cast<std::size_t>(j)], '<')) {
      l = j;
      break;
    }
  }
  if (l <= 0) return shape;  // everything
  const Unit& before = units[static_cast<std::size_t>(l - 1)];
  bool ends_domain =
      before.literal ? before.ch != '>' : (before.min >= 1 && !before.set.may_match('>'));
  if (!ends_domain) return shape;
  shape.domain = domain_pattern(slice(0, l), anchored, &impossible);
  if (impossible) return std::nullopt;
  long close = -1;
  bool crosses = false;
  for (long k = l + 1; k < n; ++k) {
    const Unit& u = units[static_cast<std::size_t>(k)];
    if (is_lit(u, '>')) {
      close = k;
      break;
    }
    if (!u.literal && u.set.may_match('>')) crosses = true;
  }
  shape.properties =
      property_constraints(slice(l + 1, close < 0 ? n : close), true, close >= 0 && !crosses);
  return shape;
}

std::vector<Shape> rule_shapes(const PlanRule& rule) {
  Shape everything_shape;
  if (!rule.wrapped) return {everything_shape};
  const auto* alternatives = rule_alternatives(*rule.wrapped);
  if (!alternatives || rule.wrapped->has_caseless) return {everything_shape};
  std::vector<Shape> shapes;
  for (const auto& alternative : *alternatives) {
    bool anchored = false;
    std::size_t first = 0;
    // A leading ^ or \A in P pins the match to the start of the domain.
    if (!alternative.empty() && alternative[0].kind == RegexNode::Kind::kAssertion &&
        (alternative[0].pcre == "^" || alternative[0].pcre == "\\A")) {
      anchored = true;
      first = 1;
    }
    std::vector<Units> expanded{{}};
    expand_sequence(
        std::vector<RegexNode>(alternative.begin() + static_cast<long>(first), alternative.end()),
        expanded);
    for (const auto& units : expanded) {
      if (auto shape = analyze(units, anchored, rule.snake_case_attributes))
        shapes.push_back(std::move(*shape));
    }
  }
  return shapes;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?") != std::string_view::npos; }

std::size_t literal_chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return c != '*' && c != '?'; }));
}

const std::string* find_property(const PropertyList& list, const std::string& key) {
  for (const auto& [k, v] : list) {
    if (k == key) return &v;
  }
  return nullptr;
}

// A superset of the reads both `shape` and `include` allow; nullopt when they cannot meet.
std::optional<Shape> intersect(Shape shape, const ObjectNamePattern& include) {
  const std::string& inc = include.domain();
  if (!include.domain_is_pattern()) {
    if (!wildcard_match(shape.domain, inc)) return std::nullopt;
    shape.domain = inc;
  } else if (!has_wildcard(shape.domain)) {
    if (!wildcard_match(inc, shape.domain)) return std::nullopt;
  } else if (wildcard_covers(shape.domain, inc) ||
             literal_chars(inc) > literal_chars(shape.domain)) {
    shape.domain = inc;
  }
  for (const auto& [key, value] : include.properties()) {
    std::string* mine = nullptr;
    for (auto& [k, v] : shape.properties) {
      if (k == key) mine = &v;
    }
    if (!mine) {
      shape.properties.emplace_back(key, value);
      continue;
    }
    if (!has_wildcard(value)) {
      if (!wildcard_match(*mine, value)) return std::nullopt;
      *mine = value;
    } else if (!has_wildcard(*mine)) {
      if (!wildcard_match(value, *mine)) return std::nullopt;
    } else if (wildcard_covers(*mine, value)) {
      *mine = value;
    }
  }
  if (!include.any_other_properties()) {
    for (const auto& [key, value] : shape.properties) {
      if (!find_property(include.properties(), key)) return std::nullopt;
    }
  }
  return shape;
}

bool shape_covers(const Shape& outer, const Shape& inner) {
  if (!wildcard_covers(outer.domain, inner.domain)) return false;
  for (const auto& [key, value] : outer.properties) {
    const std::string* theirs = find_property(inner.properties, key);
    if (!theirs || !wildcard_covers(value, *theirs)) return false;
  }
  if (!outer.attributes) return true;
  if (!inner.attributes) return false;
  return std::includes(outer.attributes->begin(), outer.attributes->end(),
                       inner.attributes->begin(), inner.attributes->end());
}

bool excluded(const Shape& shape, const ObjectNamePattern& exclude) {
  if (!exclude.any_other_properties()) return false;
  if (!wildcard_covers(exclude.domain(), shape.domain)) return false;
  for (const auto& [key, value] : exclude.properties()) {
    const std::string* mine = find_property(shape.properties, key);
    if (!mine || !wildcard_covers(value, *mine)) return false;
  }
  return true;
}

std::string mbean_text(const Shape& shape) {
  std::string out = shape.domain + ":";
  for (const auto& [key, value] : shape.properties) out += key + "=" + value + ",";
  out += "*";
  return out;
}

}  // namespace

bool wildcard_covers(std::string_view outer, std::string_view inner) {
  // covers[i][j]: outer[i..] covers inner[j..]. Iterative DP over the suffixes.
  const std::size_t n = outer.size(), m = inner.size();
  std::vector<std::vector<char>> covers(n + 1, std::vector<char>(m + 1, 0));
  covers[n][m] = 1;
  for (std::size_t i = n + 1; i-- > 0;) {
    for (std::size_t j = m + 1; j-- > 0;) {
      if (i == n) {
        covers[i][j] = j == m;
        continue;
      }
      char o = outer[i];
      if (o == '*') {
        covers[i][j] = covers[i + 1][j] || (j < m && covers[i][j + 1]);
      } else if (j == m) {
        covers[i][j] = 0;
      } else if (o == '?') {
        covers[i][j] = inner[j] != '*' && covers[i + 1][j + 1];
      } else {
        covers[i][j] = inner[j] == o && covers[i + 1][j + 1];
      }
    }
  }
  return covers[0][0];
}

const std::vector<std::string_view>& known_attribute_names() {
  static const std::vector<std::string_view> names{
      // Yammer metrics as Kafka registers them (JmxReporter's Meter/Timer/Histogram/Gauge/Counter).
      "Count",
      "EventType",
      "RateUnit",
      "MeanRate",
      "OneMinuteRate",
      "FiveMinuteRate",
      "FifteenMinuteRate",
      "Min",
      "Max",
      "Mean",
      "StdDev",
      "50thPercentile",
      "75thPercentile",
      "95thPercentile",
      "98thPercentile",
      "99thPercentile",
      "999thPercentile",
      "LatencyUnit",
      "Value",
      // java.lang / java.nio / java.util.logging platform MXBeans (JDK 8-21).
      "HeapMemoryUsage",
      "NonHeapMemoryUsage",
      "ObjectPendingFinalizationCount",
      "Verbose",
      "ObjectName",
      "Name",
      "Type",
      "Usage",
      "PeakUsage",
      "MemoryManagerNames",
      "UsageThreshold",
      "UsageThresholdExceeded",
      "UsageThresholdCount",
      "UsageThresholdSupported",
      "CollectionUsageThreshold",
      "CollectionUsageThresholdExceeded",
      "CollectionUsageThresholdCount",
      "CollectionUsage",
      "CollectionUsageThresholdSupported",
      "Valid",
      "CollectionCount",
      "CollectionTime",
      "LastGcInfo",
      "MemoryPoolNames",
      "ThreadCount",
      "PeakThreadCount",
      "TotalStartedThreadCount",
      "DaemonThreadCount",
      "AllThreadIds",
      "ThreadContentionMonitoringSupported",
      "ThreadContentionMonitoringEnabled",
      "ThreadCpuTimeSupported",
      "CurrentThreadCpuTimeSupported",
      "ThreadCpuTimeEnabled",
      "ObjectMonitorUsageSupported",
      "SynchronizerUsageSupported",
      "CurrentThreadCpuTime",
      "CurrentThreadUserTime",
      "ThreadAllocatedMemorySupported",
      "ThreadAllocatedMemoryEnabled",
      "CurrentThreadAllocatedBytes",
      "TotalThreadAllocatedBytes",
      "TotalLoadedClassCount",
      "LoadedClassCount",
      "UnloadedClassCount",
      "VmName",
      "VmVendor",
      "VmVersion",
      "SpecName",
      "SpecVendor",
      "SpecVersion",
      "ManagementSpecVersion",
      "ClassPath",
      "LibraryPath",
      "BootClassPathSupported",
      "BootClassPath",
      "InputArguments",
      "Uptime",
      "StartTime",
      "SystemProperties",
      "Pid",
      "Arch",
      "Version",
      "AvailableProcessors",
      "SystemLoadAverage",
      "CommittedVirtualMemorySize",
      "TotalSwapSpaceSize",
      "FreeSwapSpaceSize",
      "ProcessCpuTime",
      "FreePhysicalMemorySize",
      "TotalPhysicalMemorySize",
      "FreeMemorySize",
      "TotalMemorySize",
      "SystemCpuLoad",
      "ProcessCpuLoad",
      "CpuLoad",
      "OpenFileDescriptorCount",
      "MaxFileDescriptorCount",
      "CompilationTimeMonitoringSupported",
      "TotalCompilationTime",
      "TotalCapacity",
      "MemoryUsed",
      "LoggerNames",
      "DiagnosticOptions",
  };
  return names;
}

std::vector<PlannedRead> plan_reads(const std::vector<PlanRule>& rules,
                                    const std::vector<ObjectNamePattern>* includes,
                                    const std::vector<ObjectNamePattern>& excludes) {
  std::vector<Shape> shapes;
  for (const auto& rule : rules) {
    for (auto& shape : rule_shapes(rule)) {
      if (shape.attributes) {
        std::sort(shape.attributes->begin(), shape.attributes->end());
        shape.attributes->erase(std::unique(shape.attributes->begin(), shape.attributes->end()),
                                shape.attributes->end());
      }
      if (!includes) {
        shapes.push_back(std::move(shape));
        continue;
      }
      for (const auto& include : *includes) {
        if (auto narrowed = intersect(shape, include)) shapes.push_back(std::move(*narrowed));
      }
    }
  }
  // Merge reads of the same MBean pattern, then drop what another read already covers.
  std::vector<Shape> merged;
  std::vector<std::string> texts;
  for (auto& shape : shapes) {
    if (std::any_of(excludes.begin(), excludes.end(),
                    [&](const auto& e) { return excluded(shape, e); }))
      continue;
    std::string text = mbean_text(shape);
    auto it = std::find(texts.begin(), texts.end(), text);
    if (it == texts.end()) {
      texts.push_back(std::move(text));
      merged.push_back(std::move(shape));
      continue;
    }
    Shape& existing = merged[static_cast<std::size_t>(it - texts.begin())];
    if (!existing.attributes || !shape.attributes) {
      existing.attributes.reset();
    } else {
      std::set<std::string> all(existing.attributes->begin(), existing.attributes->end());
      all.insert(shape.attributes->begin(), shape.attributes->end());
      existing.attributes = std::vector<std::string>(all.begin(), all.end());
    }
  }
  std::vector<bool> dropped(merged.size(), false);
  for (std::size_t i = 0; i < merged.size(); ++i) {
    for (std::size_t j = 0; j < merged.size() && !dropped[i]; ++j) {
      if (i == j || dropped[j]) continue;
      // Equal shapes were merged above, so covering is strict here except for wildcard
      // spellings of the same set; the earlier read wins then.
      if (shape_covers(merged[j], merged[i]) && (!shape_covers(merged[i], merged[j]) || j < i))
        dropped[i] = true;
    }
  }
  std::vector<PlannedRead> reads;
  for (std::size_t i = 0; i < merged.size(); ++i) {
    if (dropped[i]) continue;
    reads.push_back(
        PlannedRead{texts[i], merged[i].attributes.value_or(std::vector<std::string>{})});
  }
  return reads;
}

Result<PlanCoverage> PlanCoverage::create(const std::vector<PlannedRead>& plan) {
  PlanCoverage coverage;
  for (const auto& read : plan) {
    auto pattern = ObjectNamePattern::parse(read.mbean);
    if (!pattern)
      return Error{ErrorKind::kInternal, read.mbean, "planned " + pattern.error().message};
    coverage.reads_.push_back(Read{std::move(pattern).value(), read.attributes});
  }
  return coverage;
}

bool PlanCoverage::reads(const ObjectName& bean, std::string_view attribute) const {
  for (const auto& read : reads_) {
    if (!read.pattern.matches(bean)) continue;
    if (read.attributes.empty() || std::find(read.attributes.begin(), read.attributes.end(),
                                             attribute) != read.attributes.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace khe::jmx
