// Allow/deny name filters (topics, groups) on PCRE2, the closest engine to the Java regexes
// operators already write for jmx_exporter and kafka-lag-exporter.
//
// A name passes when it fully matches at least one allow pattern and no deny pattern.
// Full match (anchored at both ends) is deliberate: "orders" must not also select
// "orders-dlq". Compiled once at startup; matching is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"

namespace khe {

class Regex {
 public:
  // Error kind kConfig with PCRE2's message and offset when the pattern does not compile.
  static Result<std::shared_ptr<const Regex>> compile(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  bool full_match(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }

 private:
  Regex(std::string pattern, void* code);
  std::string pattern_;
  void* code_;  // pcre2_code*, owned
};

class NameFilter {
 public:
  NameFilter() = default;  // allows everything
  static Result<NameFilter> create(const std::vector<std::string>& allow,
                                   const std::vector<std::string>& deny);
  bool allows(std::string_view name) const;

 private:
  std::vector<std::shared_ptr<const Regex>> allow_;  // empty means "everything"
  std::vector<std::shared_ptr<const Regex>> deny_;
};

}  // namespace khe
