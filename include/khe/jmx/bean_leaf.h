// BeanLeaf: the seam between reading JMX (the Jolokia reply walker) and jmx_exporter's rules.
// It carries exactly the arguments of jmx_exporter's Receiver.recordBean(): one leaf value of
// an MBean attribute after composite and tabular values were flattened the way jmx_exporter's
// JmxScraper flattens them:
// - CompositeData: each item becomes a leaf; the attribute name is appended to attr_keys and
//   the item name becomes attr_name.
// - TabularData: each row's index columns are appended to bean_properties (a repeated key gets
//   a trailing '_'), the attribute name is appended to attr_keys, and each non-index column is
//   processed as a value named after the column (a column called "value" keeps the attribute
//   name and the outer attr_keys).
// Views only: everything a BeanLeaf points at belongs to the caller and lives for the call.
#pragma once

#include <string_view>
#include <vector>

#include "khe/jmx/object_name.h"

namespace khe::jmx {

struct LeafValue {
  enum class Kind {
    kNull,     // JSON null (Jolokia 1.x writes Double NaN as null)
    kNumber,   // any JSON number, and the bare NaN / Infinity tokens some agents write
    kBoolean,  // number is 1 or 0
    kString,
  };
  Kind kind = Kind::kNull;
  double number = 0;  // kNumber and kBoolean
  // What jmx_exporter puts after "attrName: " in the match string: Java's toString() of the
  // value. For numbers the JSON text as written (Jolokia prints Java's own toString, e.g.
  // "5.0", "1.0E-4", "NaN"), "true"/"false", the string itself, "null" for kNull.
  std::string_view text;
};

struct BeanLeaf {
  std::string_view domain;
  const PropertyList& bean_properties;      // registration order (+ tabular index columns)
  const std::vector<std::string>& attr_keys;  // composite path, outermost first
  std::string_view attr_name;
  LeafValue value;
};

}  // namespace khe::jmx
