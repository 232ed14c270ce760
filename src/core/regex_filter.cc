#include "khe/core/regex_filter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

namespace khe {

Result<std::shared_ptr<const Regex>> Regex::compile(const std::string& pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  // Anchor with a non-capturing group so alternations like "a|b" stay whole.
  std::string anchored = "(?:" + pattern + ")\\z";
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(anchored.data()), anchored.size(),
                                   PCRE2_ANCHORED | PCRE2_UTF, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(error_code, buffer, sizeof(buffer));
    // The offset is into the wrapped pattern; report it in the user's own text.
    std::size_t offset_in_pattern =
        std::min<std::size_t>(error_offset >= 3 ? error_offset - 3 : 0, pattern.size());
    return Error{ErrorKind::kConfig, pattern,
                 "invalid regular expression at offset " + std::to_string(offset_in_pattern) +
                     ": " + reinterpret_cast<const char*>(buffer)};
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: falls back to the interpreter
  return std::shared_ptr<const Regex>(new Regex(pattern, code));
}

Regex::Regex(std::string pattern, void* code) : pattern_(std::move(pattern)), code_(code) {}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::full_match(std::string_view subject) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(code, nullptr);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       match, nullptr);
  pcre2_match_data_free(match);
  return rc >= 0;
}

Result<NameFilter> NameFilter::create(const std::vector<std::string>& allow,
                                      const std::vector<std::string>& deny) {
  NameFilter filter;
  for (const auto& pattern : allow) {
    auto compiled = Regex::compile(pattern);
    if (!compiled) return compiled.error();
    filter.allow_.push_back(compiled.value());
  }
  for (const auto& pattern : deny) {
    auto compiled = Regex::compile(pattern);
    if (!compiled) return compiled.error();
    filter.deny_.push_back(compiled.value());
  }
  return filter;
}

bool NameFilter::allows(std::string_view name) const {
  bool allowed = allow_.empty();
  for (const auto& re : allow_) {
    if (re->full_match(name)) {
      allowed = true;
      break;
    }
  }
  if (!allowed) return false;
  for (const auto& re : deny_) {
    if (re->full_match(name)) return false;
  }
  return true;
}

}  // namespace khe
