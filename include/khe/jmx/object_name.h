// JMX ObjectNames as Jolokia reports them with canonicalNaming=false: the domain and the key
// properties in registration order (Kafka registers type, name, topic, partition; jmx_exporter's
// patterns are written against that order, so it must survive parsing).
//
// ObjectNamePattern is JMX's pattern syntax as used by jmx_exporter's includeObjectNames /
// excludeObjectNames and by Jolokia pattern reads: `*` and `?` in the domain and in property
// values, and a trailing `,*` (or a lone `*`) for "any other properties".
// Plain values; parsing is pure and never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "khe/core/error.h"

namespace khe::jmx {

using PropertyList = std::vector<std::pair<std::string, std::string>>;

struct ObjectName {
  std::string domain;
  PropertyList properties;  // registration order; quoted values keep their quotes, as in JMX

  // "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec". Error kind kProtocol on
  // a missing ':', an empty key, a property without '=', or an unterminated quoted value.
  static Result<ObjectName> parse(std::string_view text);
  // The same into an existing name, reusing its strings' storage: the Jolokia reply walker
  // parses one name per MBean and keeps no allocation per bean this way. On an error `out`
  // holds a partial name.
  static std::optional<Error> parse_into(std::string_view text, ObjectName& out);
  // Back to "domain:k=v,k2=v2" in the same order.
  std::string to_string() const;
  bool operator==(const ObjectName&) const = default;
};

class ObjectNamePattern {
 public:
  // Error kind kConfig when the text is not an ObjectName pattern.
  static Result<ObjectNamePattern> parse(std::string_view text);
  bool matches(const ObjectName& name) const;
  // The pattern as written, usable as a Jolokia read's "mbean".
  const std::string& text() const { return text_; }
  const std::string& domain() const { return domain_; }
  bool domain_is_pattern() const;
  // The key properties the pattern names (values may contain * and ?), and whether other
  // properties are allowed (a trailing ",*" or a lone "*").
  const PropertyList& properties() const { return properties_; }
  bool any_other_properties() const { return any_other_properties_; }

 private:
  std::string text_;
  std::string domain_;                 // may contain * and ?
  PropertyList properties_;            // values may contain * and ?
  bool any_other_properties_ = false;  // trailing ",*" or a lone "*"
};

// JMX wildcard match: '*' any run (also empty), '?' any one character.
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace khe::jmx
