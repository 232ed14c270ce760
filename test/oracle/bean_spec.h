// Reads a bean spec (test/data/jmx/oracle/beans/*.spec, the format JmxRulesOracle.java
// registers as MBeans) into the leaves jmx_exporter's JmxScraper would hand to the rules.
//
//   bean <ObjectName>
//   attr <Name> <int|long|double|float|boolean|string|null> <value as Java's toString() prints it>
//   composite <Name> item=type:value;item=type:value   (items in CompositeType order: sorted)
//   # comment
//
// Test support only; header-only so the replay tool and the unit tests share it.
#pragma once

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "khe/core/error.h"
#include "khe/jmx/bean_leaf.h"
#include "khe/jmx/object_name.h"

namespace khe::jmx::testing {

struct SpecLeaf {
  std::size_t bean = 0;  // index into BeanSpec::beans
  std::vector<std::string> keys;
  std::string attribute;  // the leaf's attribute name (the item of a composite)
  LeafValue::Kind kind = LeafValue::Kind::kNumber;
  double number = 0;
  std::string text;

  // The attribute jmx_exporter read (what a Jolokia read names).
  const std::string& top_attribute() const { return keys.empty() ? attribute : keys.front(); }
};

struct BeanSpec {
  std::deque<ObjectName> beans;  // deque: BeanLeafs keep references into it
  std::vector<SpecLeaf> leaves;

  BeanLeaf leaf(const SpecLeaf& l) const {
    const ObjectName& b = beans[l.bean];
    return BeanLeaf{b.domain, b.properties, l.keys, l.attribute,
                    LeafValue{l.kind, l.number, l.text}};
  }
};

inline SpecLeaf spec_value(std::size_t bean, const std::string& type, std::string text) {
  SpecLeaf leaf;
  leaf.bean = bean;
  leaf.text = std::move(text);
  if (type == "string") {
    leaf.kind = LeafValue::Kind::kString;
  } else if (type == "null") {
    leaf.kind = LeafValue::Kind::kNull;
    leaf.text = "null";
  } else if (type == "boolean") {
    leaf.kind = LeafValue::Kind::kBoolean;
    leaf.number = leaf.text == "true" ? 1 : 0;
  } else {
    leaf.number = leaf.text == "NaN" ? std::nan("") : std::stod(leaf.text);
  }
  return leaf;
}

inline Result<BeanSpec> read_bean_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorKind::kConfig, path, "cannot read"};
  BeanSpec spec;
  std::string line;
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    std::istringstream words(line);
    std::string kind, name, rest;
    words >> kind;
    if (kind == "bean") {
      auto parsed = ObjectName::parse(line.substr(5));
      if (!parsed) return parsed.error();
      spec.beans.push_back(std::move(parsed).value());
      continue;
    }
    if (spec.beans.empty())
      return Error{ErrorKind::kConfig, path, "attribute before any bean: " + line};
    words >> name;
    std::getline(words, rest);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
    std::size_t bean = spec.beans.size() - 1;
    if (kind == "attr") {
      auto space = rest.find(' ');
      SpecLeaf leaf = spec_value(bean, rest.substr(0, space),
                                 space == std::string::npos ? "" : rest.substr(space + 1));
      leaf.attribute = name;
      spec.leaves.push_back(std::move(leaf));
    } else if (kind == "composite") {
      std::vector<std::pair<std::string, std::string>> items;
      std::stringstream list(rest);
      std::string item;
      while (std::getline(list, item, ';')) {
        auto eq = item.find('=');
        items.emplace_back(item.substr(0, eq), item.substr(eq + 1));
      }
      std::sort(items.begin(), items.end());
      for (const auto& [item_name, typed] : items) {
        auto colon = typed.find(':');
        SpecLeaf leaf = spec_value(bean, typed.substr(0, colon), typed.substr(colon + 1));
        leaf.keys = {name};
        leaf.attribute = item_name;
        spec.leaves.push_back(std::move(leaf));
      }
    } else {
      return Error{ErrorKind::kConfig, path, "bad spec line: " + line};
    }
  }
  return spec;
}

}  // namespace khe::jmx::testing
