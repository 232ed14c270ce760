// Java regular expressions (java.util.regex as jmx_exporter uses them) on PCRE2.
//
// jmx_exporter compiles each rule's pattern as Pattern.compile("^.*(?:" + P + ").*$"), tests it
// with Matcher.matches() and expands `name`, `labels`, `help` and `value` with
// Matcher.replaceAll(). This file gives the same behaviour on PCRE2 (with JIT):
//
// - parse_java_regex() reads Java's syntax into a small AST, rejecting what Java rejects
//   (dangling quantifiers, `{` that is not a repetition, bad escapes, unclosed classes) and
//   what PCRE2 cannot express (\N{...}, \b{g}, Unicode blocks, variable-length lookbehind).
// - The AST is emitted as PCRE2 syntax with Java's meaning where the two differ:
//   nested classes and `&&` intersections become lookaheads, \p{Lower}-style POSIX names
//   become [:lower:], \uXXXX becomes \x{XXXX}, backreferences use Java's "longest existing
//   group number" rule and are emitted as \g{n}, inline flags are kept only where PCRE2 means
//   the same thing ((?U) is UNGREEDY in PCRE2 but UNICODE_CHARACTER_CLASS in Java; (?x) is
//   applied by the parser, including Java's whitespace-in-classes rule), and PCRE2-only syntax
//   ((?P<..>, (?|, (?R), \K, verbs, conditionals) is rejected as Java does.
// - `.` excludes CR and LF (PCRE2_NEWLINE_ANYCRLF), \w \d \s are ASCII as in Java.
//   Known remaining differences, all outside ASCII: Java's `.` also stops at U+0085, U+2028,
//   U+2029; Java's (?i) is ASCII-only unless (?u) (PCRE2 folds Unicode); Java 17's \b uses
//   Unicode letters.
//
// The AST is also what the read planner and the literal prefilter look at (RegexNode).
// Everything here is immutable after construction; JavaRegex::full_match is thread-safe (each
// thread has its own PCRE2 match data).
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"

namespace khe::jmx {

// What one character-consuming node can match, for analysis (not for matching).
struct CharSetInfo {
  std::bitset<128> ascii;  // the ASCII characters it may match
  bool non_ascii = false;  // it may match a character >= 0x80
  bool may_match(char c) const {
    auto u = static_cast<unsigned char>(c);
    return u < 128 ? ascii.test(u) : non_ascii;
  }
};

struct RegexNode {
  enum class Kind {
    kLiteral,    // one code point
    kCharSet,    // `.`, a class, \d, \p{..}: exactly one character
    kGroup,      // (...) of any kind, with alternatives
    kRepeat,     // child (alternatives[0][0]) repeated min..max times
    kAssertion,  // zero-width: ^ $ \b \B \A \z \Z \G
    kBackref,    // \n or \k<name>: matches what a group matched
    kFlags,      // (?i) and friends: changes flags for the rest of the enclosing group
    kMulti,      // \R \X: one or more characters the planner treats as unknown
  };
  enum class Group {
    kCapture,
    kNamed,
    kNonCapture,
    kLookahead,
    kNegLookahead,
    kLookbehind,
    kNegLookbehind,
    kAtomic,
    kFlagged
  };
  enum class Greed { kGreedy, kLazy, kPossessive };

  Kind kind = Kind::kLiteral;
  char32_t literal = 0;   // kLiteral
  bool caseless = false;  // kLiteral / kCharSet / kBackref: (?i) was in effect
  CharSetInfo set;        // kCharSet (and kMulti: what its characters may be)
  Group group = Group::kNonCapture;
  std::string name;  // kNamed: group name; kBackref: group name when by name
  std::vector<std::vector<RegexNode>> alternatives;  // kGroup; kRepeat: {{child}}
  int min = 0, max = -1;                             // kRepeat; max -1 = unbounded
  Greed greed = Greed::kGreedy;
  std::string pcre;  // kCharSet / kAssertion / kBackref / kFlags / kMulti / kFlagged group
                     // prefix: the PCRE2 text
};

struct RegexAst {
  std::vector<std::vector<RegexNode>> alternatives;  // the top level: P = A|B|...
  int capture_count = 0;
  std::vector<std::pair<std::string, int>> named_groups;  // name -> group number
  bool has_caseless = false;  // (?i) anywhere: literal analysis must give up
};

// Parses Java regex syntax. Error (kConfig) with Java's kind of message and the offset.
Result<RegexAst> parse_java_regex(std::string_view pattern);
// PCRE2 syntax for the nodes (a whole AST or a part of one).
std::string to_pcre2(const std::vector<std::vector<RegexNode>>& alternatives);

// A compiled rule pattern: ^.*(?:P).*$ anchored at both ends (Matcher.matches()).
class JavaRegex {
 public:
  static Result<JavaRegex> compile(std::string_view java_pattern);
  // Compiles `pcre2_pattern` (already PCRE2 syntax) as it is, anchored at the start only,
  // for analysis helpers (the planner's attribute filter). Partial matching allowed.
  static Result<JavaRegex> compile_raw_anchored(const std::string& pcre2_pattern);

  JavaRegex(JavaRegex&&) noexcept;
  JavaRegex& operator=(JavaRegex&&) noexcept;
  ~JavaRegex();

  // Group offsets of the last full match, as PCRE2's ovector: [start0, end0, start1, end1, ...];
  // unset groups have both set to kUnset. Valid until the next match on this thread.
  static constexpr std::size_t kUnset = ~std::size_t{0};
  // True when the whole subject matches; `groups` then points at 2 * (capture_count + 1)
  // offsets. A match that exceeds PCRE2's resource limits counts as no match.
  bool full_match(std::string_view subject, const std::size_t** groups) const;
  // compile_raw_anchored() patterns: true when the pattern matches a prefix of `subject` or
  // could still match if `subject` went on (PCRE2 partial match).
  bool prefix_or_partial_match(std::string_view subject) const;

  int capture_count() const;
  // Group number of a named group, or -1.
  int group_number(std::string_view name) const;
  const RegexAst& ast() const;

 private:
  struct Impl;
  explicit JavaRegex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A replacement template with Java's Matcher.replaceAll syntax: `$n` (the longest group number
// that exists, so `$10` with one group is group 1 and a '0'), `${name}`, and `\x` for a literal
// x. Errors Java would throw at scrape time are reported when parsing: a trailing `$` or `\`,
// `$` not followed by a digit or `{`, a group number or name the pattern does not have.
class JavaReplacement {
 public:
  static Result<JavaReplacement> parse(std::string_view text, const JavaRegex* regex);
  // Appends the expansion for one match of `regex` on `subject`.
  void expand(std::string_view subject, const std::size_t* groups, std::string& out) const;
  bool is_literal() const { return refs_ == 0; }
  const std::string& literal_text() const { return text_; }

 private:
  struct Segment {
    std::size_t begin = 0, end = 0;  // literal: [begin, end) of text_
    int group = -1;                  // >= 0: a group reference instead
  };
  std::string text_;  // the literal parts, unescaped
  std::vector<Segment> segments_;
  int refs_ = 0;
};

// java.lang.Double.valueOf(String): leading/trailing whitespace (<= ' ') ignored, optional
// sign, "NaN", "Infinity", decimal with optional exponent and f/F/d/D suffix, hexadecimal with
// a binary exponent (0x1.8p1). nullopt when Java would throw NumberFormatException.
std::optional<double> parse_java_double(std::string_view text);

// Appends the UTF-8 encoding of a code point.
void append_utf8(char32_t c, std::string& out);

}  // namespace khe::jmx
