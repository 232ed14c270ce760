#include "khe/jmx/jmx_rules.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>

#include "khe/jmx/java_regex.h"
#include "khe/jmx/rules_planner.h"

namespace khe::jmx {
namespace {

// ---------------------------------------------------------------------------------------------
// Loading. jmx_exporter reads the file with SnakeYAML (YAML 1.1 scalars) and casts values to
// the Java types it expects; a value of the wrong type makes it fail to start. The same here,
// with the file and line of the offending value.

struct LoadFailure {
  int line;
  std::string key;
  std::string reason;
};

int line_of(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

[[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& reason) {
  throw LoadFailure{line_of(node), key, reason};
}

// How SnakeYAML's YAML 1.1 resolver reads a scalar, and what String.valueOf() then makes of it.
enum class ScalarType { kNull, kBool, kInt, kFloat, kString };
struct Scalar {
  ScalarType type = ScalarType::kString;
  bool boolean = false;
  double number = 0;
  std::string java_text;  // String.valueOf(the Java object)
};

bool full_match(const JavaRegex& regex, std::string_view text) {
  return regex.full_match(text, nullptr);
}

const JavaRegex& resolver(const char* pattern) {
  // Only called with the fixed patterns below; they compile.
  static thread_local std::unordered_map<const char*, std::unique_ptr<JavaRegex>> cache;
  auto& slot = cache[pattern];
  if (!slot) slot = std::make_unique<JavaRegex>(std::move(JavaRegex::compile(pattern)).value());
  return *slot;
}

// SnakeYAML 2.0's implicit resolvers (org.yaml.snakeyaml.resolver.Resolver).
constexpr const char* kYamlBool =
    "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$";
constexpr const char* kYamlInt =
    "^(?:[-+]?0b_*[0-1]+[0-1_]*|[-+]?0_*[0-7]+[0-7_]*|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x_*[0-9a-fA-F]+"
    "[0-9a-fA-F_]*"
    "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$";
constexpr const char* kYamlFloat =
    "^(?:[-+]?(?:\\.[0-9]+|[0-9_]+(?:\\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?["
    "0-9])+\\.[0-9_]*"
    "|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$";
constexpr const char* kYamlNull = "^(?:~|null|Null|NULL)$";

std::string java_double_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Value of a YAML 1.1 int (sign, 0b, 0 octal, 0x, sexagesimal, underscores); nullopt when it
// does not fit a double exactly enough to matter (it only feeds value and valueFactor).
std::optional<double> yaml_int(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.erase(0, 1);
  }
  long double value = 0;
  if (text.find(':') != std::string::npos) {
    std::stringstream parts(text);
    std::string part;
    while (std::getline(parts, part, ':')) value = value * 60 + std::stold(part);
  } else if (text.rfind("0b", 0) == 0) {
    for (char c : text.substr(2)) value = value * 2 + (c - '0');
  } else if (text.rfind("0x", 0) == 0) {
    for (char c : text.substr(2))
      value =
          value * 16 +
          (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10));
  } else if (text.size() > 1 && text[0] == '0') {
    for (char c : text.substr(1)) value = value * 8 + (c - '0');
  } else {
    for (char c : text) value = value * 10 + (c - '0');
  }
  return static_cast<double>(negative ? -value : value);
}

Scalar resolve(const YAML::Node& node, const std::string& key) {
  Scalar out;
  if (node.IsNull()) {
    out.type = ScalarType::kNull;
    out.java_text = "null";
    return out;
  }
  if (!node.IsScalar()) fail(node, key, "must be a single value, not a list or mapping");
  const std::string& text = node.Scalar();
  out.java_text = text;
  // "?" is yaml-cpp's tag for a plain (unquoted, untagged) scalar: only those are resolved.
  if (node.Tag() != "?") return out;
  if (text.empty() || full_match(resolver(kYamlNull), text)) {
    out.type = ScalarType::kNull;
    out.java_text = "null";
  } else if (full_match(resolver(kYamlBool), text)) {
    out.type = ScalarType::kBool;
    out.boolean = text[0] == 'y' || text[0] == 'Y' || text[0] == 't' || text[0] == 'T' ||
                  text == "on" || text == "On" || text == "ON";
    out.java_text = out.boolean ? "true" : "false";
  } else if (full_match(resolver(kYamlInt), text)) {
    out.type = ScalarType::kInt;
    out.number = *yaml_int(text);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.0f", out.number);
    out.java_text = buf;
  } else if (full_match(resolver(kYamlFloat), text)) {
    out.type = ScalarType::kFloat;
    std::string clean = text;
    clean.erase(std::remove(clean.begin(), clean.end(), '_'), clean.end());
    if (clean.find(':') != std::string::npos) {
      out.number = *yaml_int(clean.substr(0, clean.rfind(':'))) * 60 +
                   std::stod(clean.substr(clean.rfind(':') + 1));
    } else if (clean.find_first_of("nN") != std::string::npos && clean.find('.') == 0) {
      out.number = std::nan("");
    } else if (clean.find_first_of("iI") != std::string::npos) {
      out.number = clean[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    } else if (auto parsed = parse_java_double(clean)) {
      out.number = *parsed;
    } else {
      fail(node, key, "'" + text + "' is not a number");
    }
    out.java_text = java_double_text(out.number);
  }
  return out;
}

// yaml-cpp answers node[key] with the first of repeated keys, SnakeYAML with the last: a file
// that repeats a key means different things to the two, so it is refused.
void reject_duplicate_keys(const YAML::Node& map, const std::string& prefix) {
  std::vector<std::string> seen;
  for (const auto& entry : map) {
    const std::string& key = entry.first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      fail(entry.first, prefix + key, "repeated key");
    }
    seen.push_back(key);
  }
}

bool yaml_boolean(const YAML::Node& node, const std::string& key) {
  Scalar s = resolve(node, key);
  if (s.type != ScalarType::kBool)
    fail(node, key, "must be true or false, got '" + s.java_text + "'");
  return s.boolean;
}

// A value jmx_exporter casts to String: a string, or null (absent).
std::optional<std::string> yaml_string(const YAML::Node& node, const std::string& key) {
  Scalar s = resolve(node, key);
  if (s.type == ScalarType::kNull) return std::nullopt;
  if (s.type != ScalarType::kString) {
    fail(node, key,
         "must be a string (jmx_exporter reads '" + node.Scalar() + "' as a " +
             (s.type == ScalarType::kBool ? "boolean" : "number") + "; quote it)");
  }
  return s.java_text;
}

std::vector<ObjectNamePattern> object_names(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) fail(node, key, "must be a list of ObjectName patterns");
  std::vector<ObjectNamePattern> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    std::string item_key = key + "[" + std::to_string(i) + "]";
    auto text = yaml_string(node[i], item_key);
    if (!text) fail(node[i], item_key, "must be an ObjectName pattern, not null");
    auto pattern = ObjectNamePattern::parse(*text);
    if (!pattern) fail(node[i], item_key, pattern.error().message);
    out.push_back(std::move(pattern).value());
  }
  return out;
}

MetricType metric_type(const YAML::Node& node, const std::string& key) {
  auto text = yaml_string(node, key);
  if (!text) fail(node, key, "must be GAUGE, COUNTER or UNTYPED, not null");
  // Collector.Type.valueOf() in jmx_exporter 0.20 (simpleclient 0.16); how the 0.0.4 text
  // format then types the samples.
  const std::string& t = *text;
  if (t == "GAUGE" || t == "STATE_SET" || t == "INFO") return MetricType::kGauge;
  if (t == "COUNTER") return MetricType::kCounter;
  if (t == "UNTYPED" || t == "UNKNOWN") return MetricType::kUntyped;
  if (t == "SUMMARY") return MetricType::kSummary;
  if (t == "HISTOGRAM" || t == "GAUGE_HISTOGRAM") return MetricType::kHistogram;
  fail(node, key,
       "unknown type '" + t +
           "' (GAUGE, COUNTER, UNTYPED; jmx_exporter also accepts UNKNOWN, "
           "SUMMARY, HISTOGRAM, GAUGE_HISTOGRAM, STATE_SET, INFO; the names are case-sensitive)");
}

// ---------------------------------------------------------------------------------------------
// Matching.

// What a matched rule makes of a leaf apart from its value (jmx_exporter's MatchedRule).
struct Outcome {
  std::string name;
  std::string help;
  bool default_help = true;  // help derived from the bean when the family is new
  MetricType type = MetricType::kUntyped;
  std::vector<std::pair<std::string, std::string>> labels;
  std::optional<double> value;  // from the `value` template
  double factor = 1;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What `cache: true` rules make of one leaf key (bean and attribute, without the value):
// jmx_exporter matches "<cache>" in place of the value for such rules and keeps each rule's
// result per key. Those results depend on the key alone, so one entry per key is enough: the
// first cached rule that matches, and what it made. Rules without a cache in between are still
// tried first, in file order. jmx_exporter drops entries a scrape did not touch; this bridge
// has no scrape boundary here, so the memo is bounded by size instead.
struct CachedMatch {
  int rule = -1;      // index of the first cached rule that matches; -1: none
  bool drop = false;  // it matched but the leaf is dropped (unparseable value, empty name)
  std::shared_ptr<const Outcome> outcome;
};

class MatchMemo {
 public:
  static constexpr std::size_t kMaxEntries = 1'000'000;

  std::optional<CachedMatch> find(std::string_view key) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  void put(std::string_view key, CachedMatch match) {
    std::unique_lock lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.emplace(std::string(key), std::move(match));
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, CachedMatch, StringHash, std::equal_to<>>
      entries_;  // guarded by mutex_
};

struct Rule {
  int line = 0;
  std::optional<JavaRegex> pattern;
  std::optional<JavaReplacement> name, help, value;
  std::vector<std::pair<JavaReplacement, JavaReplacement>> labels;  // label-name order (TreeMap)
  double factor = 1;
  bool snake_case = false;
  bool cache = false;
  MetricType type = MetricType::kUntyped;
  std::vector<std::string> required;  // literals every match contains: a cheap first test
};

struct ExcludedAttributes {
  ObjectName bean;
  std::vector<std::string> attributes;
};

bool is_legal_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '_';
}

// JmxCollector.safeName: a leading digit gets a '_' in front; every run of characters outside
// [a-zA-Z0-9:_] (and of '_') becomes one '_'. Non-ASCII characters count as unsafe, byte by
// byte, which gives the same result as Java's per-char loop.
void append_safe_name(std::string_view in, std::string& out) {
  if (!in.empty() && in[0] >= '0' && in[0] <= '9') out += '_';
  bool previous_underscore = false;
  for (char c : in) {
    if (!is_legal_name_char(c) || c == '_') {
      if (!previous_underscore) out += '_';
      previous_underscore = true;
    } else {
      out += c;
      previous_underscore = false;
    }
  }
}

void ascii_lower(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// JmxCollector.toSnakeAndLowerCase: '_' before an upper-case letter that follows neither an
// upper-case letter nor '_', everything lower-cased. ASCII letters only.
void append_snake_case(std::string_view in, std::string& out) {
  if (in.empty()) return;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  bool previous = upper(in[0]) || in[0] == '_';
  out += lower(in[0]);
  for (std::size_t i = 1; i < in.size(); ++i) {
    char c = in[i];
    if (!previous && upper(c)) out += '_';
    out += lower(c);
    previous = upper(c) || c == '_';
  }
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Domains of the JVM's own MBeans: there a JSON null is a real null (a composite that is not
// there yet, such as LastGcInfo), which jmx_exporter skips. Elsewhere (Kafka) it is how
// Jolokia 1.x writes a Double NaN, which jmx_exporter exports.
bool is_platform_domain(std::string_view domain) {
  return domain.rfind("java.", 0) == 0 || domain.rfind("javax.", 0) == 0 ||
         domain.rfind("com.sun.", 0) == 0 || domain.rfind("jdk.", 0) == 0 ||
         domain == "JMImplementation";
}

std::string_view top_attribute(const BeanLeaf& leaf) {
  return leaf.attr_keys.empty() ? leaf.attr_name : std::string_view(leaf.attr_keys.front());
}

// What JmxScraper 0.20 never reads, whatever the rules say.
bool skipped_by_scraper(const BeanLeaf& leaf) {
  const auto& props = leaf.bean_properties;
  if (props.empty() || props[0].first != "type") return false;
  if (leaf.domain == "jdk.management.jfr" && props[0].second == "FlightRecorder") return true;
  if (leaf.domain == "java.lang" && props[0].second == "Runtime") {
    auto top = top_attribute(leaf);
    return iequals(top, "SystemProperties") || iequals(top, "ClassPath") ||
           iequals(top, "BootClassPath") || iequals(top, "LibraryPath");
  }
  return false;
}

// Literals that every subject a rule matches must contain, from the top level of its pattern.
std::vector<std::string> required_literals(const RegexAst& wrapped) {
  if (wrapped.has_caseless || wrapped.alternatives.size() != 1) return {};
  const auto& seq = wrapped.alternatives[0];
  if (seq.size() != 5 || seq[2].kind != RegexNode::Kind::kGroup || seq[2].alternatives.size() != 1)
    return {};
  std::vector<std::string> runs{""};
  std::function<void(const std::vector<RegexNode>&)> walk =
      [&](const std::vector<RegexNode>& nodes) {
        for (const auto& node : nodes) {
          if (node.kind == RegexNode::Kind::kLiteral && !node.caseless) {
            append_utf8(node.literal, runs.back());
          } else if (node.kind == RegexNode::Kind::kGroup && node.alternatives.size() == 1 &&
                     (node.group == RegexNode::Group::kCapture ||
                      node.group == RegexNode::Group::kNamed ||
                      node.group == RegexNode::Group::kNonCapture ||
                      node.group == RegexNode::Group::kAtomic)) {
            walk(node.alternatives[0]);
          } else if (node.kind != RegexNode::Kind::kFlags) {
            runs.emplace_back();
          }
        }
      };
  walk(seq[2].alternatives[0]);
  std::sort(runs.begin(), runs.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::vector<std::string> out;
  for (auto& run : runs) {
    if (run.size() >= 3 && out.size() < 2) out.push_back(std::move(run));
  }
  return out;
}

// Per-thread buffers for apply(): no allocation per leaf once they have grown.
struct Scratch {
  std::string subject;  // domain<k=v, ...><key, ...>attribute: value
  std::string snake_subject;
  std::string cache_subject;
  std::string cache_snake_subject;
  std::string_view attr, snake_attr;
  std::string expanded;
  Outcome outcome;
  std::string name;
  std::string help;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct JmxRules::State {
  std::string source;
  CounterNaming counter_naming = CounterNaming::kJmxExporter020;
  bool lowercase_name = false;
  bool lowercase_labels = false;
  std::optional<std::vector<ObjectNamePattern>> includes;  // nullopt: every MBean
  std::vector<ObjectNamePattern> excludes;
  std::vector<ExcludedAttributes> excluded_attributes;
  std::vector<Rule> rules;
  bool any_snake_case = false;
  bool any_cache = false;
  std::unique_ptr<MatchMemo> memo = std::make_unique<MatchMemo>();
  std::vector<std::string> ignored;
  std::vector<PlannedRead> plan;

  void parse_rule(const YAML::Node& node, const std::string& key);
  bool excluded_attribute(const BeanLeaf& leaf) const;
  void default_export(const BeanLeaf& leaf, std::string_view attr, Outcome& out) const;
  void default_help(const BeanLeaf& leaf, std::string& out) const;
  enum class Verdict { kNoMatch, kMatch, kDrop };
  Verdict evaluate(const Rule& rule, std::string_view subject, std::string_view attr,
                   const BeanLeaf& leaf, Outcome& o) const;
  CachedMatch first_cached_match(const BeanLeaf& leaf) const;
  void emit(const Outcome& outcome, const BeanLeaf& leaf, FamilyBuilder& out) const;
};

void JmxRules::State::parse_rule(const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) fail(node, key, "each rule must be a mapping (pattern, name, labels, ...)");
  static const char* const kKnown[] = {"pattern", "name",   "value", "valueFactor",
                                       "help",    "labels", "type",  "attrNameSnakeCase",
                                       "cache"};
  reject_duplicate_keys(node, key + ".");
  for (const auto& entry : node) {
    auto field = entry.first.Scalar();
    if (std::find(std::begin(kKnown), std::end(kKnown), field) == std::end(kKnown)) {
      fail(entry.first, key + "." + field,
           "unknown rule key (known: pattern, name, value, valueFactor, help, labels, type, "
           "attrNameSnakeCase, "
           "cache)");
    }
  }
  Rule rule;
  rule.line = line_of(node);
  std::string where = key + ".";
  if (const auto& p = node["pattern"]) {
    Scalar s = resolve(p, where + "pattern");
    if (s.type == ScalarType::kFloat) fail(p, where + "pattern", "quote the pattern");
    // jmx_exporter concatenates whatever the value is into the regex ("null" for an empty one).
    auto compiled = JavaRegex::compile(s.java_text);
    if (!compiled)
      fail(p, where + "pattern",
           "invalid regular expression '" + s.java_text + "': " + compiled.error().message);
    rule.pattern = std::move(compiled).value();
    rule.required = required_literals(rule.pattern->ast());
  }
  const JavaRegex* regex = rule.pattern ? &*rule.pattern : nullptr;
  auto replacement = [&](const YAML::Node& n, const std::string& k, const std::string& text) {
    auto parsed = JavaReplacement::parse(text, regex);
    if (!parsed) fail(n, k, "'" + text + "': " + parsed.error().message);
    return std::move(parsed).value();
  };
  if (const auto& n = node["name"]) {
    if (auto text = yaml_string(n, where + "name"))
      rule.name = replacement(n, where + "name", *text);
  }
  if (const auto& v = node["value"]) {
    Scalar s = resolve(v, where + "value");
    if (!s.java_text.empty()) {
      if (!regex) fail(v, where + "value", "a rule with value must have a pattern");
      rule.value = replacement(v, where + "value", s.java_text);
    }
  }
  if (const auto& f = node["valueFactor"]) {
    Scalar s = resolve(f, where + "valueFactor");
    auto factor = s.type == ScalarType::kInt || s.type == ScalarType::kFloat
                      ? std::optional<double>(s.number)
                      : parse_java_double(s.java_text);
    if (!factor) fail(f, where + "valueFactor", "must be a number, got '" + s.java_text + "'");
    rule.factor = *factor;
  }
  if (const auto& a = node["attrNameSnakeCase"])
    rule.snake_case = yaml_boolean(a, where + "attrNameSnakeCase");
  if (const auto& c = node["cache"]) rule.cache = yaml_boolean(c, where + "cache");
  if (const auto& t = node["type"]) rule.type = metric_type(t, where + "type");
  if (const auto& h = node["help"]) {
    if (auto text = yaml_string(h, where + "help"))
      rule.help = replacement(h, where + "help", *text);
  }
  bool has_labels = false;
  if (const auto& labels = node["labels"]) {
    if (!labels.IsMap()) fail(labels, where + "labels", "must be a mapping of label name to value");
    has_labels = true;
    // Plain data only: yaml-cpp's Node assignment writes through to the document, so Nodes
    // must not be sorted.
    struct Label {
      std::string name, value, key;
      YAML::Mark name_mark, value_mark;
    };
    std::vector<Label> sorted;
    for (const auto& entry : labels) {
      auto label_name = yaml_string(entry.first, where + "labels");
      if (!label_name) fail(entry.first, where + "labels", "a label name must not be empty");
      std::string label_key = where + "labels." + *label_name;
      auto value = yaml_string(entry.second, label_key);
      if (!value)
        fail(entry.second, label_key, "a label value must not be empty (jmx_exporter fails on it)");
      sorted.push_back({*label_name, *value, label_key, entry.first.Mark(), entry.second.Mark()});
    }
    // TreeMap: label names in order; a repeated name keeps the last value, as SnakeYAML does.
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Label& a, const Label& b) { return a.name < b.name; });
    auto template_at = [&](const YAML::Mark& mark, const std::string& k, const std::string& text) {
      auto parsed = JavaReplacement::parse(text, regex);
      if (!parsed) throw LoadFailure{mark.line + 1, k, "'" + text + "': " + parsed.error().message};
      return std::move(parsed).value();
    };
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      if (i + 1 < sorted.size() && sorted[i + 1].name == sorted[i].name) continue;
      const Label& label = sorted[i];
      rule.labels.emplace_back(template_at(label.name_mark, label.key, label.name),
                               template_at(label.value_mark, label.key, label.value));
    }
  }
  // jmx_exporter's own validation.
  if ((has_labels || rule.help) && !rule.name) {
    fail(node, key, "a rule with help or labels must have a name");
  }
  if (rule.name && !rule.pattern) fail(node, key, "a rule with a name must have a pattern");
  if (rule.cache) any_cache = true;
  if (rule.snake_case) any_snake_case = true;
  rules.push_back(std::move(rule));
}

bool JmxRules::State::excluded_attribute(const BeanLeaf& leaf) const {
  auto top = top_attribute(leaf);
  for (const auto& excluded : excluded_attributes) {
    if (excluded.bean.domain != leaf.domain) continue;
    const auto& want = excluded.bean.properties;
    const auto& have = leaf.bean_properties;
    // Tabular rows add their index columns to the properties: compare the bean's own ones.
    if (have.size() < want.size() || (have.size() > want.size() && leaf.attr_keys.empty()))
      continue;
    bool same = std::all_of(want.begin(), want.end(), [&](const auto& p) {
      return std::find(have.begin(), have.begin() + static_cast<long>(want.size()), p) !=
             have.begin() + static_cast<long>(want.size());
    });
    if (same && std::find(excluded.attributes.begin(), excluded.attributes.end(), top) !=
                    excluded.attributes.end()) {
      return true;
    }
  }
  return false;
}

void JmxRules::State::default_export(const BeanLeaf& leaf, std::string_view attr,
                                     Outcome& out) const {
  std::string& raw = scratch().expanded;
  raw.assign(leaf.domain);
  if (!leaf.bean_properties.empty()) {
    raw += '_';
    raw += leaf.bean_properties.front().second;
  }
  for (const auto& key : leaf.attr_keys) {
    raw += '_';
    raw += key;
  }
  raw += '_';
  raw += attr;
  out.name.clear();
  append_safe_name(raw, out.name);
  if (lowercase_name) ascii_lower(out.name);
  std::size_t count = leaf.bean_properties.empty() ? 0 : leaf.bean_properties.size() - 1;
  out.labels.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [key, value] = leaf.bean_properties[i + 1];
    auto& label = out.labels[i];
    label.first.clear();
    append_safe_name(key, label.first);
    if (lowercase_labels) ascii_lower(label.first);
    label.second.assign(value);
  }
}

void JmxRules::State::default_help(const BeanLeaf& leaf, std::string& out) const {
  // "domain:name=<name>,type=<type>,attribute=<attribute>" (no MBean descriptions over Jolokia).
  auto property = [&](std::string_view key) -> std::string_view {
    for (const auto& [k, v] : leaf.bean_properties) {
      if (k == key) return v;
    }
    return "null";
  };
  out.assign(leaf.domain);
  out += ":name=";
  out += property("name");
  out += ",type=";
  out += property("type");
  out += ",attribute=";
  out += leaf.attr_name;
}

void JmxRules::State::emit(const Outcome& outcome, const BeanLeaf& leaf, FamilyBuilder& out) const {
  double value;
  if (outcome.value) {
    value = *outcome.value * outcome.factor;
  } else {
    switch (leaf.value.kind) {
      case LeafValue::Kind::kNumber:
        value = leaf.value.number * outcome.factor;
        break;
      case LeafValue::Kind::kBoolean:
        value = leaf.value.number != 0 ? 1 : 0;
        break;
      case LeafValue::Kind::kNull:
        value = std::nan("");
        break;
      case LeafValue::Kind::kString:
      default:
        return;  // "Ignoring unsupported bean"
    }
  }
  Scratch& s = scratch();
  std::string_view name = outcome.name;
  MetricType type = outcome.type;
  if (type == MetricType::kCounter && !ends_with(name, "_total")) {
    if (counter_naming == CounterNaming::kJmxExporter1x) {
      s.name.assign(name);
      s.name += "_total";
      name = s.name;
    } else {
      // jmx_exporter 0.20 (simpleclient 0.16) writes `# TYPE <name>_total counter` above samples
      // named <name>: Prometheus reads those samples as untyped, and so do we.
      type = MetricType::kUntyped;
    }
  }
  std::string_view help;
  if (!outcome.default_help) {
    help = outcome.help;
  } else if (!out.has_family(name)) {
    default_help(leaf, s.help);
    help = s.help;
  }
  out.add(name, help, type, outcome.labels, value);
}

JmxRules::JmxRules(std::unique_ptr<State> state) : state_(std::move(state)) {}
JmxRules::JmxRules(JmxRules&&) noexcept = default;
JmxRules& JmxRules::operator=(JmxRules&&) noexcept = default;
JmxRules::~JmxRules() = default;

Result<JmxRules> JmxRules::parse(std::string_view yaml_text, std::string_view source,
                                 CounterNaming counter_naming) {
  auto state = std::make_unique<State>();
  state->source = std::string(source);
  state->counter_naming = counter_naming;
  auto error = [&](int line, const std::string& key, const std::string& reason) {
    std::string where = state->source.empty() ? "<rules>" : state->source;
    if (line > 0) where += ":" + std::to_string(line);
    return Error{ErrorKind::kConfig, state->source,
                 where + ": " + (key.empty() ? "" : key + ": ") + reason};
  };
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsNull() && !root.IsMap())
      fail(root, "", "the rules file must be a mapping (rules:, ...)");
    static const char* const kUsed[] = {"rules",
                                        "lowercaseOutputName",
                                        "lowercaseOutputLabelNames",
                                        "includeObjectNames",
                                        "excludeObjectNames",
                                        "whitelistObjectNames",
                                        "blacklistObjectNames",
                                        "excludeObjectNameAttributes"};
    // Keys of jmx_exporter 0.20 that configure how it connects or serves, not what it exports.
    // cacheRules is not a jmx_exporter key, but its own example_configs/kafka-2_0_0.yml has it
    // (jmx_exporter ignores unknown keys), so users' copies of that file carry it.
    static const char* const kIgnored[] = {"hostPort",   "jmxUrl",
                                           "username",   "password",
                                           "ssl",        "startDelaySeconds",
                                           "httpServer", "autoExcludeObjectNameAttributes",
                                           "cacheRules"};
    if (root.IsMap()) {
      reject_duplicate_keys(root, "");
      for (const auto& entry : root) {
        auto key = entry.first.Scalar();
        if (std::find(std::begin(kIgnored), std::end(kIgnored), key) != std::end(kIgnored)) {
          state->ignored.push_back(key);
        } else if (std::find(std::begin(kUsed), std::end(kUsed), key) == std::end(kUsed)) {
          fail(entry.first, key,
               "unknown key (jmx_exporter 0.20 knows rules, lowercaseOutputName, "
               "lowercaseOutputLabelNames, includeObjectNames, excludeObjectNames, "
               "whitelistObjectNames, blacklistObjectNames, excludeObjectNameAttributes, "
               "autoExcludeObjectNameAttributes, startDelaySeconds, hostPort, jmxUrl, username, "
               "password, ssl, httpServer)");
        }
      }
      // The ignored keys still have to be what jmx_exporter accepts.
      if (root["hostPort"] && root["jmxUrl"])
        fail(root["jmxUrl"], "jmxUrl", "at most one of hostPort and jmxUrl");
      if (const auto& n = root["ssl"]) yaml_boolean(n, "ssl");
      if (const auto& n = root["autoExcludeObjectNameAttributes"])
        yaml_boolean(n, "autoExcludeObjectNameAttributes");
      if (const auto& n = root["startDelaySeconds"]) {
        if (resolve(n, "startDelaySeconds").type != ScalarType::kInt)
          fail(n, "startDelaySeconds", "must be an integer");
      }
      for (const char* key : {"jmxUrl", "username", "password"}) {
        if (const auto& n = root[key]) yaml_string(n, key);
      }
      if (const auto& n = root["lowercaseOutputName"])
        state->lowercase_name = yaml_boolean(n, "lowercaseOutputName");
      if (const auto& n = root["lowercaseOutputLabelNames"]) {
        state->lowercase_labels = yaml_boolean(n, "lowercaseOutputLabelNames");
      }
      // includeObjectNames wins over its old spelling, as in jmx_exporter.
      if (const auto& n = root["includeObjectNames"])
        state->includes = object_names(n, "includeObjectNames");
      else if (const auto& w = root["whitelistObjectNames"])
        state->includes = object_names(w, "whitelistObjectNames");
      if (const auto& n = root["excludeObjectNames"])
        state->excludes = object_names(n, "excludeObjectNames");
      else if (const auto& b = root["blacklistObjectNames"])
        state->excludes = object_names(b, "blacklistObjectNames");
      if (const auto& n = root["excludeObjectNameAttributes"]) {
        if (!n.IsMap())
          fail(n, "excludeObjectNameAttributes",
               "must map ObjectNames to lists of attribute names");
        for (const auto& entry : n) {
          auto bean_text = yaml_string(entry.first, "excludeObjectNameAttributes");
          std::string key = "excludeObjectNameAttributes." + entry.first.Scalar();
          auto bean = ObjectName::parse(bean_text.value_or(""));
          if (!bean) fail(entry.first, key, bean.error().message);
          if (!entry.second.IsSequence())
            fail(entry.second, key, "must be a list of attribute names");
          ExcludedAttributes excluded{std::move(bean).value(), {}};
          for (const auto& attribute : entry.second) {
            auto text = yaml_string(attribute, key);
            if (!text) fail(attribute, key, "an attribute name must not be empty");
            excluded.attributes.push_back(*text);
          }
          state->excluded_attributes.push_back(std::move(excluded));
        }
      }
    }
    if (root.IsMap() && root["rules"]) {
      const auto& rules = root["rules"];
      if (!rules.IsSequence()) fail(rules, "rules", "must be a list of rules");
      for (std::size_t i = 0; i < rules.size(); ++i)
        state->parse_rule(rules[i], "rules[" + std::to_string(i) + "]");
    } else {
      // No rules: jmx_exporter's default rule (default naming for everything).
      state->rules.emplace_back();
    }
  } catch (const LoadFailure& f) {
    return error(f.line, f.key, f.reason);
  } catch (const YAML::Exception& e) {
    return error(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return error(0, "", std::string("cannot load the rules: ") + e.what());
  }
  std::vector<PlanRule> plan_rules;
  for (const auto& rule : state->rules) {
    plan_rules.push_back({rule.pattern ? &rule.pattern->ast() : nullptr, rule.snake_case});
  }
  state->plan =
      plan_reads(plan_rules, state->includes ? &*state->includes : nullptr, state->excludes);
  return JmxRules(std::move(state));
}

Result<JmxRules> JmxRules::load_file(const std::string& path, CounterNaming counter_naming) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorKind::kConfig, path, path + ": cannot read the rules file"};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path, counter_naming);
}

bool JmxRules::includes(const ObjectName& name) const {
  const State& s = *state_;
  if (s.includes) {
    bool included = std::any_of(s.includes->begin(), s.includes->end(),
                                [&](const auto& p) { return p.matches(name); });
    if (!included) return false;
  }
  return std::none_of(s.excludes.begin(), s.excludes.end(),
                      [&](const auto& p) { return p.matches(name); });
}

JmxRules::State::Verdict JmxRules::State::evaluate(const Rule& rule, std::string_view subject,
                                                   std::string_view attr, const BeanLeaf& leaf,
                                                   Outcome& o) const {
  const std::size_t* groups = nullptr;
  if (rule.pattern) {
    bool candidate = std::all_of(
        rule.required.begin(), rule.required.end(),
        [&](const std::string& literal) { return subject.find(literal) != subject.npos; });
    if (!candidate || !rule.pattern->full_match(subject, &groups)) return Verdict::kNoMatch;
  }
  Scratch& s = scratch();
  o.value.reset();
  o.factor = rule.factor;
  o.type = rule.type;
  if (rule.value) {
    s.expanded.clear();
    rule.value->expand(subject, groups, s.expanded);
    o.value = parse_java_double(s.expanded);
    if (!o.value) return Verdict::kDrop;  // "Unable to parse configured value"
  }
  if (!rule.name) {
    default_export(leaf, attr, o);
    o.default_help = true;
    return Verdict::kMatch;
  }
  s.expanded.clear();
  rule.name->expand(subject, groups, s.expanded);
  o.name.clear();
  append_safe_name(s.expanded, o.name);
  if (o.name.empty()) return Verdict::kDrop;
  if (lowercase_name) ascii_lower(o.name);
  o.default_help = !rule.help;
  if (rule.help) {
    o.help.clear();
    rule.help->expand(subject, groups, o.help);
  }
  std::size_t count = 0;
  o.labels.resize(rule.labels.size());
  for (const auto& [label_name, label_value] : rule.labels) {
    auto& label = o.labels[count];
    s.expanded.clear();
    label_name.expand(subject, groups, s.expanded);
    label.first.clear();
    append_safe_name(s.expanded, label.first);
    if (lowercase_labels) ascii_lower(label.first);
    label.second.clear();
    label_value.expand(subject, groups, label.second);
    if (!label.first.empty() && !label.second.empty()) ++count;
  }
  o.labels.resize(count);
  return Verdict::kMatch;
}

CachedMatch JmxRules::State::first_cached_match(const BeanLeaf& leaf) const {
  Scratch& s = scratch();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    if (!rule.cache) continue;
    std::string_view subject = rule.snake_case ? s.cache_snake_subject : s.cache_subject;
    std::string_view attr = rule.snake_case ? s.snake_attr : s.attr;
    Verdict verdict = evaluate(rule, subject, attr, leaf, s.outcome);
    if (verdict == Verdict::kNoMatch) continue;
    CachedMatch match{static_cast<int>(i), verdict == Verdict::kDrop, nullptr};
    if (!match.drop) {
      auto outcome = std::make_shared<Outcome>(s.outcome);
      if (outcome->default_help) {
        // jmx_exporter's cached MatchedRule keeps the help it was made with.
        default_help(leaf, outcome->help);
        outcome->default_help = false;
      }
      match.outcome = std::move(outcome);
    }
    return match;
  }
  return {};
}

void JmxRules::apply(const BeanLeaf& leaf, FamilyBuilder& out) const {
  const State& state = *state_;
  if (skipped_by_scraper(leaf)) return;
  if (!state.excluded_attributes.empty() && state.excluded_attribute(leaf)) return;
  std::string_view value_text = leaf.value.text;
  if (leaf.value.kind == LeafValue::Kind::kNull) {
    if (is_platform_domain(leaf.domain)) return;  // JmxScraper: "scrape: null"
    value_text = "NaN";
  }

  Scratch& s = scratch();
  // jmx_exporter's match string: domain + LinkedHashMap.toString() + LinkedList.toString()
  // with the brackets swapped for angle brackets, the attribute, ": " and the value.
  std::string& subject = s.subject;
  subject.assign(leaf.domain);
  subject += '<';
  for (std::size_t i = 0; i < leaf.bean_properties.size(); ++i) {
    if (i > 0) subject += ", ";
    subject += leaf.bean_properties[i].first;
    subject += '=';
    subject += leaf.bean_properties[i].second;
  }
  subject += "><";
  for (std::size_t i = 0; i < leaf.attr_keys.size(); ++i) {
    if (i > 0) subject += ", ";
    subject += leaf.attr_keys[i];
  }
  subject += '>';
  const std::size_t bean_end = subject.size();
  subject += leaf.attr_name;
  const std::size_t attr_end = subject.size();
  subject += ": ";
  subject += value_text;
  s.attr = std::string_view(subject).substr(bean_end, attr_end - bean_end);
  // The other match strings share the bean part.
  auto variant = [&](std::string& text, std::string_view suffix, bool snake) {
    text.assign(subject, 0, bean_end);
    if (snake)
      append_snake_case(leaf.attr_name, text);
    else
      text += leaf.attr_name;
    std::size_t end = text.size();
    text += ": ";
    text += suffix;
    return end;
  };
  if (state.any_snake_case) {
    std::size_t end = variant(s.snake_subject, value_text, true);
    s.snake_attr = std::string_view(s.snake_subject).substr(bean_end, end - bean_end);
  }
  if (state.any_cache) {
    variant(s.cache_subject, "<cache>", false);
    if (state.any_snake_case) variant(s.cache_snake_subject, "<cache>", true);
  }

  std::optional<CachedMatch> memo;
  const Outcome* outcome = nullptr;
  for (std::size_t i = 0; i < state.rules.size(); ++i) {
    const Rule& rule = state.rules[i];
    if (rule.cache) {
      if (!memo) {
        // The key: the bean and attribute part of the "<cache>" match string.
        std::string_view key = std::string_view(s.cache_subject).substr(0, attr_end);
        memo = state.memo->find(key);
        if (!memo) {
          memo = state.first_cached_match(leaf);
          state.memo->put(key, *memo);
        }
      }
      if (memo->rule != static_cast<int>(i)) continue;  // an earlier cached rule: no match
      if (memo->drop) return;
      outcome = memo->outcome.get();
      break;
    }
    State::Verdict verdict =
        state.evaluate(rule, rule.snake_case ? s.snake_subject : s.subject,
                       rule.snake_case ? s.snake_attr : s.attr, leaf, s.outcome);
    if (verdict == State::Verdict::kNoMatch) continue;
    if (verdict == State::Verdict::kDrop) return;
    outcome = &s.outcome;
    break;
  }
  if (outcome) state.emit(*outcome, leaf, out);
}

std::vector<PlannedRead> JmxRules::plan() const { return state_->plan; }
std::vector<std::string> JmxRules::ignored_keys() const { return state_->ignored; }
bool JmxRules::lowercase_output_name() const { return state_->lowercase_name; }
std::size_t JmxRules::rule_count() const { return state_->rules.size(); }

// ---------------------------------------------------------------------------------------------

struct FamilyBuilder::State {
  std::vector<Family> families;
  std::vector<char> ragged;  // per family: a label was added after its first samples
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_name;
  // Samples seen, by a hash of (family, suffix, label values): the first of equal ones wins.
  // Open addressing over a power-of-two table: no allocation per sample.
  struct Seen {
    static constexpr std::uint32_t kFree = ~std::uint32_t{0};
    std::uint64_t hash = 0;
    std::uint32_t family = kFree;
    std::uint32_t sample = 0;
  };
  std::vector<Seen> seen = std::vector<Seen>(1024);
  std::size_t seen_count = 0;
  std::vector<std::pair<std::string, std::string>> constant_labels;
  // Scratch for add(): the labels to store, and names of renamed labels.
  std::vector<std::pair<std::string_view, std::string_view>> effective;
  std::vector<std::string> renamed;
  std::size_t samples = 0;

  bool add(std::string_view name, std::string_view help, MetricType type,
           const std::vector<std::pair<std::string, std::string>>& labels, SampleSuffix suffix,
           double value);
  void remember(std::uint64_t hash, std::uint32_t family, std::uint32_t sample);
};

namespace {

std::uint64_t mix(std::uint64_t h, std::string_view s) {
  h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

// Values with trailing empties removed: a sample from before a label was added to its family
// has a shorter vector.
std::size_t used_length(const std::vector<std::string>& values) {
  std::size_t n = values.size();
  while (n > 0 && values[n - 1].empty()) --n;
  return n;
}

}  // namespace

void FamilyBuilder::State::remember(std::uint64_t hash, std::uint32_t family,
                                    std::uint32_t sample) {
  if (2 * (seen_count + 1) > seen.size()) {
    std::vector<Seen> old(seen.size() * 2);
    old.swap(seen);
    seen_count = 0;
    for (const auto& slot : old) {
      if (slot.family != Seen::kFree) remember(slot.hash, slot.family, slot.sample);
    }
  }
  std::size_t mask = seen.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    if (seen[i].family == Seen::kFree) {
      seen[i] = Seen{hash, family, sample};
      ++seen_count;
      return;
    }
  }
}

bool FamilyBuilder::State::add(std::string_view name, std::string_view help, MetricType type,
                               const std::vector<std::pair<std::string, std::string>>& labels,
                               SampleSuffix suffix, double value) {
  auto found = by_name.find(name);
  std::size_t index;
  if (found == by_name.end()) {
    index = families.size();
    families.push_back(Family{std::string(name), std::string(help), type, {}, {}});
    ragged.push_back(0);
    by_name.emplace(std::string(name), index);
  } else {
    index = found->second;
  }
  Family& family = families[index];

  // The sample's labels, then the constant ones. A sample label that clashes with a constant
  // one moves to the first "exported_..." name nobody uses (Prometheus, honor_labels: false).
  effective.clear();
  renamed.clear();
  auto taken = [&](std::string_view candidate) {
    auto same = [&](const auto& l) { return l.first == candidate; };
    return std::any_of(constant_labels.begin(), constant_labels.end(), same) ||
           std::any_of(labels.begin(), labels.end(), same) ||
           std::any_of(effective.begin(), effective.end(), same);
  };
  for (const auto& label : labels) {
    bool clash = std::any_of(constant_labels.begin(), constant_labels.end(),
                             [&](const auto& c) { return c.first == label.first; });
    if (!clash) {
      effective.emplace_back(label.first, label.second);
      continue;
    }
    std::string name_for = "exported_" + label.first;
    while (taken(name_for)) name_for = "exported_" + name_for;
    renamed.reserve(labels.size());  // no reallocation: effective keeps views into it
    renamed.push_back(std::move(name_for));
    effective.emplace_back(renamed.back(), label.second);
  }
  for (const auto& c : constant_labels) effective.emplace_back(c.first, c.second);

  std::vector<std::string> values(family.label_names.size());
  for (const auto& [label_name, label_value] : effective) {
    auto column = std::find(family.label_names.begin(), family.label_names.end(), label_name);
    std::size_t i;
    if (column == family.label_names.end()) {
      if (!family.samples.empty()) ragged[index] = 1;
      family.label_names.emplace_back(label_name);
      values.emplace_back();
      i = family.label_names.size() - 1;
    } else {
      i = static_cast<std::size_t>(column - family.label_names.begin());
    }
    if (values[i].empty()) values[i] = label_value;  // a repeated label keeps its first value
  }

  std::size_t used = used_length(values);
  std::uint64_t h = mix(index, std::string_view(reinterpret_cast<const char*>(&suffix), 1));
  for (std::size_t i = 0; i < used; ++i) h = mix(h, values[i]);
  std::size_t mask = seen.size() - 1;
  for (std::size_t i = h & mask; seen[i].family != Seen::kFree; i = (i + 1) & mask) {
    const Seen& slot = seen[i];
    if (slot.hash != h || slot.family != index) continue;
    const Sample& other = family.samples[slot.sample];
    if (other.suffix != suffix || used_length(other.label_values) != used) continue;
    if (std::equal(values.begin(), values.begin() + static_cast<long>(used),
                   other.label_values.begin())) {
      return false;  // "was created multiple times. Keeping the first occurrence."
    }
  }
  remember(h, static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(family.samples.size()));
  family.samples.push_back(Sample{std::move(values), value, suffix});
  ++samples;
  return true;
}

FamilyBuilder::FamilyBuilder() : state_(std::make_unique<State>()) {}
FamilyBuilder::~FamilyBuilder() = default;

bool FamilyBuilder::add(std::string_view name, std::string_view help, MetricType type,
                        const std::vector<std::pair<std::string, std::string>>& labels,
                        double value) {
  return state_->add(name, help, type, labels, SampleSuffix::kNone, value);
}

bool FamilyBuilder::add_with_suffix(std::string_view name, std::string_view help, MetricType type,
                                    const std::vector<std::pair<std::string, std::string>>& labels,
                                    SampleSuffix suffix, double value) {
  return state_->add(name, help, type, labels, suffix, value);
}

void FamilyBuilder::set_constant_labels(std::vector<std::pair<std::string, std::string>> labels) {
  state_->constant_labels = std::move(labels);
}

bool FamilyBuilder::has_family(std::string_view name) const {
  return state_->by_name.find(name) != state_->by_name.end();
}

std::size_t FamilyBuilder::sample_count() const { return state_->samples; }

std::vector<Family> FamilyBuilder::take() && {
  for (std::size_t f = 0; f < state_->families.size(); ++f) {
    if (!state_->ragged[f]) continue;
    Family& family = state_->families[f];
    for (auto& sample : family.samples) sample.label_values.resize(family.label_names.size());
  }
  std::vector<Family> out = std::move(state_->families);
  state_ = std::make_unique<State>();
  return out;
}

}  // namespace khe::jmx
