#include "khe/jmx/object_name.h"

#include <algorithm>

namespace khe::jmx {
namespace {

Error bad_name(std::string_view text, std::string reason, ErrorKind kind) {
  return Error{kind, std::string(text), std::move(reason)};
}

// Splits "k=v,k2=\"a,b\"" at the commas outside quoted values. Quoted values keep their quotes
// and escapes, as JMX's getKeyProperty() does.
Result<std::vector<std::string_view>> split_properties(std::string_view text, ErrorKind kind) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (quoted) return bad_name(text, "unterminated quoted value", kind);
  parts.push_back(text.substr(start));
  return parts;
}

Result<std::pair<std::string, std::string>> split_property(std::string_view whole,
                                                           std::string_view part, ErrorKind kind) {
  auto equals = part.find('=');
  if (equals == std::string_view::npos) {
    return bad_name(whole, "property '" + std::string(part) + "' has no '='", kind);
  }
  if (equals == 0) return bad_name(whole, "property with an empty key", kind);
  return std::pair{std::string(part.substr(0, equals)), std::string(part.substr(equals + 1))};
}

}  // namespace

Result<ObjectName> ObjectName::parse(std::string_view text) {
  ObjectName name;
  if (auto error = parse_into(text, name)) return std::move(*error);
  return name;
}

namespace {

// Assigns only when the text differs: consecutive beans of a reply share most of their keys
// and values, and a compare is cheaper than a copy.
void assign_if_changed(std::string& target, std::string_view text) {
  if (std::string_view(target) != text) target.assign(text.data(), text.size());
}

}  // namespace

std::optional<Error> ObjectName::parse_into(std::string_view text, ObjectName& out) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return bad_name(text, "no ':' after the domain", ErrorKind::kProtocol);
  }
  assign_if_changed(out.domain, text.substr(0, colon));
  std::string_view list = text.substr(colon + 1);
  const bool has_quotes = list.find('"') != std::string_view::npos;
  std::size_t count = 0;
  std::size_t start = 0;
  // Splits at the commas outside quoted values, like split_properties(), without a vector of
  // parts; a property's strings are assigned in place so their capacity is reused.
  for (;;) {
    std::size_t end = list.size();
    if (!has_quotes) {
      end = std::min(list.find(',', start), list.size());
    } else {
      bool quoted = false;
      std::size_t i = start;
      for (; i < list.size(); ++i) {
        const char c = list[i];
        if (quoted) {
          if (c == '\\') {
            ++i;
          } else if (c == '"') {
            quoted = false;
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          break;
        }
      }
      if (quoted) return bad_name(text, "unterminated quoted value", ErrorKind::kProtocol);
      end = std::min(i, list.size());
    }
    std::string_view part = list.substr(start, end - start);
    auto equals = part.find('=');
    if (equals == std::string_view::npos) {
      return bad_name(text, "property '" + std::string(part) + "' has no '='",
                      ErrorKind::kProtocol);
    }
    if (equals == 0) return bad_name(text, "property with an empty key", ErrorKind::kProtocol);
    if (count == out.properties.size()) out.properties.emplace_back();
    assign_if_changed(out.properties[count].first, part.substr(0, equals));
    assign_if_changed(out.properties[count].second, part.substr(equals + 1));
    ++count;
    if (end >= list.size()) break;
    start = end + 1;
  }
  out.properties.resize(count);
  return std::nullopt;
}

std::string ObjectName::to_string() const {
  std::string out = domain;
  out += ':';
  for (std::size_t i = 0; i < properties.size(); ++i) {
    if (i > 0) out += ',';
    out += properties[i].first;
    out += '=';
    out += properties[i].second;
  }
  return out;
}

Result<ObjectNamePattern> ObjectNamePattern::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return bad_name(text, "not an ObjectName pattern: no ':' after the domain", ErrorKind::kConfig);
  }
  ObjectNamePattern pattern;
  pattern.text_ = std::string(text);
  pattern.domain_ = std::string(text.substr(0, colon));
  auto parts = split_properties(text.substr(colon + 1), ErrorKind::kConfig);
  if (!parts) return parts.error();
  for (auto part : *parts) {
    if (part == "*") {
      pattern.any_other_properties_ = true;
      continue;
    }
    auto property = split_property(text, part, ErrorKind::kConfig);
    if (!property) return property.error();
    pattern.properties_.push_back(std::move(property).value());
  }
  if (pattern.properties_.empty() && !pattern.any_other_properties_) {
    return bad_name(text, "not an ObjectName pattern: no key properties", ErrorKind::kConfig);
  }
  return pattern;
}

bool ObjectNamePattern::domain_is_pattern() const {
  return domain_.find_first_of("*?") != std::string::npos;
}

bool ObjectNamePattern::matches(const ObjectName& name) const {
  if (!wildcard_match(domain_, name.domain)) return false;
  // Property order never matters to a pattern (JMX compares property lists as sets).
  for (const auto& [key, value_pattern] : properties_) {
    bool found = false;
    for (const auto& [name_key, name_value] : name.properties) {
      if (name_key == key) {
        found = wildcard_match(value_pattern, name_value);
        break;
      }
    }
    if (!found) return false;
  }
  return any_other_properties_ || name.properties.size() == properties_.size();
}

bool wildcard_match(std::string_view pattern, std::string_view text) {
  // Iterative glob with single-star backtracking: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace khe::jmx
