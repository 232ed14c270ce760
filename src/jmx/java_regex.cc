#include "khe/jmx/java_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace khe::jmx {
namespace {

constexpr int kMaxRepeat = 65535;  // PCRE2's limit; Java's is larger but never used that high
constexpr int kMaxNesting = 200;   // deeper patterns are refused rather than recursed into

Error regex_error(std::string_view pattern, std::size_t offset, std::string message) {
  return Error{ErrorKind::kConfig, std::string(pattern),
               message + " near index " + std::to_string(offset)};
}

bool is_ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_ascii_alnum(char32_t c) { return is_ascii_alpha(c) || is_ascii_digit(c); }

CharSetInfo all_chars() {
  CharSetInfo info;
  info.ascii.set();
  info.non_ascii = true;
  return info;
}

CharSetInfo ascii_range(int lo, int hi) {
  CharSetInfo info;
  for (int c = lo; c <= hi && c < 128; ++c) info.ascii.set(static_cast<std::size_t>(c));
  return info;
}

CharSetInfo operator|(CharSetInfo a, const CharSetInfo& b) {
  a.ascii |= b.ascii;
  a.non_ascii = a.non_ascii || b.non_ascii;
  return a;
}

CharSetInfo operator&(CharSetInfo a, const CharSetInfo& b) {
  a.ascii &= b.ascii;
  a.non_ascii = a.non_ascii && b.non_ascii;
  return a;
}

// Conservative: the complement of a set may match any non-ASCII character.
CharSetInfo complement(CharSetInfo a) {
  a.ascii.flip();
  a.non_ascii = true;
  return a;
}

CharSetInfo fold_case(CharSetInfo a) {
  for (int c = 'a'; c <= 'z'; ++c) {
    auto lower = static_cast<std::size_t>(c), upper = static_cast<std::size_t>(c - 32);
    if (a.ascii.test(lower) || a.ascii.test(upper)) {
      a.ascii.set(lower);
      a.ascii.set(upper);
    }
  }
  // Unicode case folding maps a few non-ASCII letters onto ASCII ones (the Kelvin sign, the
  // long s): rare enough that only the non-ASCII side is widened.
  a.non_ascii = true;
  return a;
}

CharSetInfo single(char32_t c) {
  CharSetInfo info;
  if (c < 128)
    info.ascii.set(c);
  else
    info.non_ascii = true;
  return info;
}

// PCRE2 text for one literal code point: alphanumerics as they are, everything else escaped
// so that no character of the literal can be read as syntax.
std::string pcre_literal(char32_t c) {
  if (is_ascii_alnum(c)) return std::string(1, static_cast<char>(c));
  if (c > 0x20 && c < 0x7F) return std::string{'\\', static_cast<char>(c)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(c));
  return buf;
}

// Java's POSIX-style \p{Name} classes (US-ASCII only) and their PCRE2 POSIX names.
struct PosixClass {
  std::string_view java;
  std::string_view posix;
  CharSetInfo (*info)();
};

CharSetInfo info_lower() { return ascii_range('a', 'z'); }
CharSetInfo info_upper() { return ascii_range('A', 'Z'); }
CharSetInfo info_ascii() { return ascii_range(0, 127); }
CharSetInfo info_alpha() { return info_lower() | info_upper(); }
CharSetInfo info_digit() { return ascii_range('0', '9'); }
CharSetInfo info_alnum() { return info_alpha() | info_digit(); }
CharSetInfo info_punct() {
  return ascii_range('!', '/') | ascii_range(':', '@') | ascii_range('[', '`') |
         ascii_range('{', '~');
}
CharSetInfo info_graph() { return ascii_range('!', '~'); }
CharSetInfo info_print() { return ascii_range(' ', '~'); }
CharSetInfo info_blank() { return single(' ') | single('\t'); }
CharSetInfo info_cntrl() { return ascii_range(0, 0x1F) | single(0x7F); }
CharSetInfo info_xdigit() { return info_digit() | ascii_range('a', 'f') | ascii_range('A', 'F'); }
CharSetInfo info_space() { return ascii_range('\t', '\r') | single(' '); }
CharSetInfo info_word() { return info_alnum() | single('_'); }

constexpr PosixClass kPosixClasses[] = {
    {"Lower", "lower", info_lower}, {"Upper", "upper", info_upper},
    {"ASCII", "ascii", info_ascii}, {"Alpha", "alpha", info_alpha},
    {"Digit", "digit", info_digit}, {"Alnum", "alnum", info_alnum},
    {"Punct", "punct", info_punct}, {"Graph", "graph", info_graph},
    {"Print", "print", info_print}, {"Blank", "blank", info_blank},
    {"Cntrl", "cntrl", info_cntrl}, {"XDigit", "xdigit", info_xdigit},
    {"Space", "space", info_space},
};

// Java names for Unicode properties PCRE2 spells differently.
struct PropertyAlias {
  std::string_view java;
  std::string_view pcre;  // the text between \p{ and }
  bool negate;            // PCRE2 needs the complement (Assigned = not Cn)
};
constexpr PropertyAlias kPropertyAliases[] = {
    {"javaLowerCase", "Ll", false},
    {"javaUpperCase", "Lu", false},
    {"javaTitleCase", "Lt", false},
    {"javaDigit", "Nd", false},
    {"javaLetter", "L", false},
    {"javaAlphabetic", "Alphabetic", false},
    {"javaIdeographic", "Ideographic", false},
    {"javaSpaceChar", "Z", false},
    {"Letter", "L", false},
    {"Punctuation", "P", false},
    {"Control", "Cc", false},
    {"Digit", "Nd", false},
    {"Titlecase", "Lt", false},
    {"WhiteSpace", "White_Space", false},
    {"HexDigit", "Hex_Digit", false},
    {"JoinControl", "Join_Control", false},
    {"NoncharacterCodePoint", "Noncharacter_Code_Point", false},
    {"Assigned", "Cn", true},
};

// One character class (or a piece of one) while it is being built, in the form PCRE2 needs:
// either the inside of a bracket expression, or (for Java's nested classes and intersections)
// an expression that matches exactly one character.
struct ClassPart {
  bool simple = true;    // `items` is the inside of [...]
  bool negated = false;  // simple only: [^...]
  std::string items;
  std::string expr;  // !simple: one-character expression
  CharSetInfo info;

  std::string one_char() const {
    if (!simple) return expr;
    if (items.empty()) return negated ? "(?s:.)" : "(?!)";
    return std::string(negated ? "[^" : "[") + items + "]";
  }
};

ClassPart class_union(ClassPart a, const ClassPart& b) {
  if (a.simple && b.simple && !a.negated && !b.negated) {
    a.items += b.items;
    a.info = a.info | b.info;
    return a;
  }
  ClassPart out;
  out.simple = false;
  out.expr = "(?:" + a.one_char() + "|" + b.one_char() + ")";
  out.info = a.info | b.info;
  return out;
}

ClassPart class_and(const ClassPart& a, const ClassPart& b) {
  ClassPart out;
  out.simple = false;
  out.expr = "(?:(?=" + a.one_char() + ")" + b.one_char() + ")";
  out.info = a.info & b.info;
  return out;
}

ClassPart class_negate(ClassPart a) {
  CharSetInfo info = complement(a.info);
  if (a.simple) {
    a.negated = !a.negated;
    a.info = info;
    return a;
  }
  ClassPart out;
  out.simple = false;
  out.expr = "(?:(?!" + a.expr + ")(?s:.))";
  out.info = info;
  return out;
}

struct Flags {
  bool caseless = false, multiline = false, dotall = false, comments = false;
  bool operator==(const Flags&) const = default;
};

class Parser {
 public:
  explicit Parser(std::string_view pattern) : original_(pattern) {}

  Result<RegexAst> parse() {
    if (auto quoted = remove_qe_quoting(); !quoted) return quoted.error();
    if (auto decoded = decode(); !decoded) return decoded.error();
    RegexAst ast;
    auto alternatives = parse_alternatives(0);
    if (!alternatives) return alternatives.error();
    if (pos_ < text_.size()) return error("Unmatched closing ')'");
    ast.alternatives = std::move(alternatives).value();
    ast.capture_count = groups_seen_;
    ast.named_groups = named_;
    ast.has_caseless = has_caseless_;
    // Backreferences to groups that never exist can never match (Java compiles them).
    fix_backrefs(ast.alternatives);
    return ast;
  }

 private:
  // Java rewrites \Q...\E into escaped characters before parsing (Pattern.RemoveQEQuoting);
  // so does this, so that quoting works the same inside classes and ranges.
  Result<bool> remove_qe_quoting() {
    std::string out;
    std::string_view in = original_;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
      if (in[i] != '\\') {
        out += in[i++];
        continue;
      }
      if (i + 1 < in.size() && in[i + 1] != 'Q') {
        out += in[i];
        out += in[i + 1];
        i += 2;
        continue;
      }
      if (i + 1 >= in.size()) {
        out += in[i++];
        continue;
      }
      i += 2;  // \Q
      bool begin = true;
      while (i < in.size()) {
        char c = in[i];
        if (c == '\\' && i + 1 < in.size() && in[i + 1] == 'E') {
          i += 2;
          break;
        }
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || is_ascii_alpha(u)) {
          out += c;
        } else if (is_ascii_digit(u)) {
          // A digit right after \Q must not extend an escape written before it.
          if (begin) out += "\\x3";
          out += c;
        } else {
          out += '\\';
          out += c;
        }
        begin = false;
        ++i;
      }
    }
    quoted_ = std::move(out);
    return true;
  }

  Result<bool> decode() {
    std::string_view s = quoted_;
    for (std::size_t i = 0; i < s.size();) {
      auto b = static_cast<unsigned char>(s[i]);
      char32_t c;
      int len;
      if (b < 0x80) {
        c = b;
        len = 1;
      } else if ((b & 0xE0) == 0xC0) {
        c = b & 0x1F;
        len = 2;
      } else if ((b & 0xF0) == 0xE0) {
        c = b & 0x0F;
        len = 3;
      } else if ((b & 0xF8) == 0xF0) {
        c = b & 0x07;
        len = 4;
      } else {
        return Error{ErrorKind::kConfig, std::string(original_), "pattern is not valid UTF-8"};
      }
      if (i + static_cast<std::size_t>(len) > s.size()) {
        return Error{ErrorKind::kConfig, std::string(original_), "pattern is not valid UTF-8"};
      }
      for (int k = 1; k < len; ++k) {
        auto cont = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((cont & 0xC0) != 0x80) {
          return Error{ErrorKind::kConfig, std::string(original_), "pattern is not valid UTF-8"};
        }
        c = (c << 6) | (cont & 0x3F);
      }
      if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return Error{ErrorKind::kConfig, std::string(original_), "pattern is not valid UTF-8"};
      }
      text_.push_back(c);
      i += static_cast<std::size_t>(len);
    }
    return true;
  }

  void fix_backrefs(std::vector<std::vector<RegexNode>>& alternatives) {
    for (auto& seq : alternatives) {
      for (auto& node : seq) {
        if (node.kind == RegexNode::Kind::kBackref && node.name.empty()) {
          int n = std::stoi(node.pcre.substr(3));  // "\g{n}"
          if (n > groups_seen_) node.pcre = "(?!)";
        }
        fix_backrefs(node.alternatives);
      }
    }
  }

  Error error(std::string message) const {
    return regex_error(original_, pos_, std::move(message));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char32_t peek_raw() const { return at_end() ? 0 : text_[pos_]; }

  // Java's peek(): in comments mode whitespace and #-comments are skipped first.
  char32_t peek() {
    if (flags_.comments) skip_comments();
    return peek_raw();
  }

  void skip_comments() {
    while (!at_end()) {
      char32_t c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r') {
        ++pos_;
      } else if (c == '#') {
        while (!at_end() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
      } else {
        break;
      }
    }
  }

  Result<std::vector<std::vector<RegexNode>>> parse_alternatives(int depth) {
    if (depth > kMaxNesting) return error("pattern nested too deeply");
    std::vector<std::vector<RegexNode>> alternatives;
    for (;;) {
      auto seq = parse_sequence(depth);
      if (!seq) return seq.error();
      alternatives.push_back(std::move(seq).value());
      if (peek() == '|' && !at_end()) {
        ++pos_;
        continue;
      }
      break;
    }
    return alternatives;
  }

  Result<std::vector<RegexNode>> parse_sequence(int depth) {
    std::vector<RegexNode> seq;
    for (;;) {
      char32_t c = peek();
      if (at_end() || c == '|' || c == ')') break;
      auto atom = parse_atom(depth);
      if (!atom) return atom.error();
      if (!atom->has_value()) continue;  // a flag change that emits nothing
      RegexNode node = std::move(**atom);
      bool quantifiable = node.kind != RegexNode::Kind::kFlags;
      if (quantifiable) {
        auto quantified = parse_quantifier(std::move(node));
        if (!quantified) return quantified.error();
        node = std::move(quantified).value();
      }
      seq.push_back(std::move(node));
    }
    return seq;
  }

  Result<RegexNode> parse_quantifier(RegexNode node) {
    char32_t c = peek();
    int min = 0, max = -1;
    if (c == '?') {
      min = 0;
      max = 1;
      ++pos_;
    } else if (c == '*') {
      ++pos_;
    } else if (c == '+') {
      min = 1;
      ++pos_;
    } else if (c == '{') {
      auto bounds = parse_braces();
      if (!bounds) return bounds.error();
      min = bounds->first;
      max = bounds->second;
    } else {
      return node;
    }
    RegexNode repeat;
    repeat.kind = RegexNode::Kind::kRepeat;
    repeat.min = min;
    repeat.max = max;
    if (peek() == '?') {
      repeat.greed = RegexNode::Greed::kLazy;
      ++pos_;
    } else if (peek() == '+') {
      repeat.greed = RegexNode::Greed::kPossessive;
      ++pos_;
    }
    repeat.alternatives = {{std::move(node)}};
    // Java: another quantifier right after one is "dangling"; a {n,m} there is accepted and
    // repeats nothing (a{2}{3} matches "aa").
    for (;;) {
      char32_t next = peek();
      if (next == '*' || next == '+' || next == '?') {
        return error(std::string("Dangling meta character '") + static_cast<char>(next) + "'");
      }
      if (next != '{') break;
      auto ignored = parse_braces();
      if (!ignored) return ignored.error();
      if (peek() == '?' || peek() == '+') ++pos_;
    }
    return repeat;
  }

  Result<std::pair<int, int>> parse_braces() {
    ++pos_;  // {
    auto number = [this]() -> std::optional<long> {
      if (at_end() || !is_ascii_digit(text_[pos_])) return std::nullopt;
      long n = 0;
      while (!at_end() && is_ascii_digit(text_[pos_])) {
        n = std::min<long>(n * 10 + (text_[pos_] - '0'), 1L << 40);
        ++pos_;
      }
      return n;
    };
    auto lo = number();
    if (!lo) return error("Illegal repetition");
    long hi = *lo;
    if (peek_raw() == ',') {
      ++pos_;
      if (peek_raw() == '}')
        hi = -1;
      else if (auto h = number())
        hi = *h;
      else
        return error("Unclosed counted closure");
    }
    if (peek_raw() != '}') return error("Unclosed counted closure");
    ++pos_;
    if (hi != -1 && hi < *lo) return error("Illegal repetition range");
    if (*lo > kMaxRepeat || hi > kMaxRepeat) {
      return error("repetition count above " + std::to_string(kMaxRepeat) + " is not supported");
    }
    return std::pair{static_cast<int>(*lo), static_cast<int>(hi)};
  }

  RegexNode make_set(std::string pcre, CharSetInfo info) {
    RegexNode node;
    node.kind = RegexNode::Kind::kCharSet;
    node.pcre = std::move(pcre);
    node.caseless = flags_.caseless;
    node.set = flags_.caseless ? fold_case(info) : info;
    if (flags_.caseless) has_caseless_ = true;
    return node;
  }

  RegexNode make_literal(char32_t c) {
    RegexNode node;
    node.kind = RegexNode::Kind::kLiteral;
    node.literal = c;
    node.caseless = flags_.caseless && (is_ascii_alpha(c) || c >= 0x80);
    node.set = node.caseless ? fold_case(single(c)) : single(c);
    if (node.caseless) has_caseless_ = true;
    return node;
  }

  RegexNode make_assertion(std::string pcre) {
    RegexNode node;
    node.kind = RegexNode::Kind::kAssertion;
    node.pcre = std::move(pcre);
    return node;
  }

  Result<std::optional<RegexNode>> parse_atom(int depth) {
    char32_t c = peek();
    switch (c) {
      case '(':
        return parse_group(depth);
      case '[': {
        ++pos_;
        auto part = parse_class(true, depth);
        if (!part) return part.error();
        return std::optional<RegexNode>(make_set(part->one_char(), part->info));
      }
      case '.': {
        ++pos_;
        CharSetInfo info = all_chars();
        if (!flags_.dotall) {
          info.ascii.reset('\n');
          info.ascii.reset('\r');
        }
        return std::optional<RegexNode>(make_set(".", info));
      }
      case '^':
        ++pos_;
        return std::optional<RegexNode>(make_assertion("^"));
      case '$':
        ++pos_;
        return std::optional<RegexNode>(make_assertion("$"));
      case '\\':
        return parse_escape_atom();
      case '*':
      case '+':
      case '?':
        return error(std::string("Dangling meta character '") + static_cast<char>(c) + "'");
      case '{':
        return error("Illegal repetition");
      default:
        ++pos_;
        return std::optional<RegexNode>(make_literal(c));
    }
  }

  Result<std::optional<RegexNode>> parse_group(int depth) {
    std::size_t start = pos_;
    ++pos_;  // (
    RegexNode node;
    node.kind = RegexNode::Kind::kGroup;
    Flags saved = flags_;
    if (peek_raw() == '?') {
      ++pos_;
      char32_t k = peek_raw();
      if (k == ':') {
        ++pos_;
        node.group = RegexNode::Group::kNonCapture;
      } else if (k == '=') {
        ++pos_;
        node.group = RegexNode::Group::kLookahead;
      } else if (k == '!') {
        ++pos_;
        node.group = RegexNode::Group::kNegLookahead;
      } else if (k == '>') {
        ++pos_;
        node.group = RegexNode::Group::kAtomic;
      } else if (k == '<') {
        ++pos_;
        char32_t k2 = peek_raw();
        if (k2 == '=') {
          ++pos_;
          node.group = RegexNode::Group::kLookbehind;
        } else if (k2 == '!') {
          ++pos_;
          node.group = RegexNode::Group::kNegLookbehind;
        } else {
          if (!is_ascii_alpha(k2))
            return error("capturing group name does not start with a Latin letter");
          std::string name;
          while (!at_end() && is_ascii_alnum(text_[pos_])) name += static_cast<char>(text_[pos_++]);
          if (peek_raw() != '>') return error("named capturing group is missing trailing '>'");
          ++pos_;
          for (const auto& [existing, number] : named_) {
            if (existing == name)
              return error("Named capturing group <" + name + "> is already defined");
          }
          node.group = RegexNode::Group::kNamed;
          node.name = name;
          named_.emplace_back(name, ++groups_seen_);
        }
      } else {
        // Inline flags: (?idmsuxU-idmsuxU) or (?idmsuxU-idmsuxU:X).
        Flags flags = flags_;
        bool on = true;
        std::string set, unset;
        for (;;) {
          char32_t f = peek_raw();
          if (f == ')' || f == ':') break;
          if (at_end()) return error("Unknown inline modifier");
          ++pos_;
          if (f == '-') {
            if (!on) return error("Unknown inline modifier");
            on = false;
            continue;
          }
          bool* target = nullptr;
          char letter = 0;
          switch (f) {
            case 'i':
              target = &flags.caseless;
              letter = 'i';
              break;
            case 'm':
              target = &flags.multiline;
              letter = 'm';
              break;
            case 's':
              target = &flags.dotall;
              letter = 's';
              break;
            case 'x':
              target = &flags.comments;
              break;
            // UNIX_LINES, UNICODE_CASE, UNICODE_CHARACTER_CLASS have no inline PCRE2 form
            // (PCRE2's (?U) means something else): accepted, not emitted.
            case 'd':
            case 'u':
            case 'U':
              break;
            default:
              return error("Unknown inline modifier");
          }
          if (target) *target = on;
          if (letter) (on ? set : unset) += letter;
        }
        std::string pcre;
        if (!set.empty() || !unset.empty()) {
          pcre = "(?" + set + (unset.empty() ? "" : "-" + unset);
        }
        if (flags.caseless) has_caseless_ = true;
        if (peek_raw() == ')') {
          ++pos_;
          flags_ = flags;  // for the rest of the enclosing group
          if (pcre.empty()) return std::optional<RegexNode>();
          RegexNode change;
          change.kind = RegexNode::Kind::kFlags;
          change.pcre = pcre + ")";
          return std::optional<RegexNode>(std::move(change));
        }
        ++pos_;  // ':'
        flags_ = flags;
        node.group = pcre.empty() ? RegexNode::Group::kNonCapture : RegexNode::Group::kFlagged;
        node.pcre = pcre.empty() ? "" : pcre + ":";
      }
    } else {
      node.group = RegexNode::Group::kCapture;
      ++groups_seen_;
    }
    auto alternatives = parse_alternatives(depth + 1);
    if (!alternatives) return alternatives.error();
    if (peek_raw() != ')') {
      pos_ = start;
      return error("Unclosed group");
    }
    ++pos_;
    flags_ = saved;
    node.alternatives = std::move(alternatives).value();
    return std::optional<RegexNode>(std::move(node));
  }

  // Escapes outside a class.
  Result<std::optional<RegexNode>> parse_escape_atom() {
    ++pos_;  // backslash
    if (at_end()) return error("Unexpected internal error");
    char32_t c = text_[pos_];
    switch (c) {
      case 'b':
        ++pos_;
        if (peek_raw() == '{') return error("\\b{g} (grapheme boundaries) is not supported");
        return std::optional<RegexNode>(make_assertion("\\b"));
      case 'B':
      case 'A':
      case 'G':
      case 'Z':
      case 'z': {
        ++pos_;
        return std::optional<RegexNode>(make_assertion(std::string{'\\', static_cast<char>(c)}));
      }
      case 'R':
      case 'X': {
        ++pos_;
        RegexNode node;
        node.kind = RegexNode::Kind::kMulti;
        node.pcre = std::string{'\\', static_cast<char>(c)};
        node.set = c == 'X' ? all_chars() : (ascii_range('\n', '\r') | CharSetInfo{{}, true});
        return std::optional<RegexNode>(std::move(node));
      }
      case 'k': {
        ++pos_;
        if (peek_raw() != '<') return error("\\k is not followed by '<' for named capturing group");
        ++pos_;
        std::string name;
        while (!at_end() && is_ascii_alnum(text_[pos_])) name += static_cast<char>(text_[pos_++]);
        if (peek_raw() != '>') return error("named capturing group is missing trailing '>'");
        ++pos_;
        bool known = std::any_of(named_.begin(), named_.end(),
                                 [&](const auto& n) { return n.first == name; });
        if (!known) return error("named capturing group <" + name + "> does not exist");
        RegexNode node;
        node.kind = RegexNode::Kind::kBackref;
        node.name = name;
        node.caseless = flags_.caseless;
        node.pcre = "\\k<" + name + ">";
        return std::optional<RegexNode>(std::move(node));
      }
      default:
        break;
    }
    if (c >= '1' && c <= '9') {
      // Java: the first digit is always a group; more digits while the number stays a group
      // opened before this point.
      ++pos_;
      int ref = static_cast<int>(c - '0');
      while (!at_end() && is_ascii_digit(text_[pos_])) {
        int next = ref * 10 + static_cast<int>(text_[pos_] - '0');
        if (next > groups_seen_) break;
        ref = next;
        ++pos_;
      }
      RegexNode node;
      node.kind = RegexNode::Kind::kBackref;
      node.caseless = flags_.caseless;
      node.pcre = "\\g{" + std::to_string(ref) + "}";
      return std::optional<RegexNode>(std::move(node));
    }
    auto escaped = parse_escape();
    if (!escaped) return escaped.error();
    if (escaped->is_set)
      return std::optional<RegexNode>(make_set(escaped->set.one_char(), escaped->set.info));
    return std::optional<RegexNode>(make_literal(escaped->literal));
  }

  struct Escaped {
    bool is_set = false;
    char32_t literal = 0;
    ClassPart set;  // simple, usable inside a class
  };

  Result<std::optional<char32_t>> hex_digits(int count) {
    char32_t value = 0;
    for (int i = 0; i < count; ++i) {
      if (at_end()) return std::optional<char32_t>();
      char32_t h = text_[pos_];
      int d = is_ascii_digit(h)        ? static_cast<int>(h - '0')
              : (h >= 'a' && h <= 'f') ? static_cast<int>(h - 'a' + 10)
              : (h >= 'A' && h <= 'F') ? static_cast<int>(h - 'A' + 10)
                                       : -1;
      if (d < 0) return std::optional<char32_t>();
      value = value * 16 + static_cast<char32_t>(d);
      ++pos_;
    }
    return std::optional<char32_t>(value);
  }

  // A literal or a predefined set after a backslash (pos_ at the escaped character). Used
  // inside and outside classes.
  Result<Escaped> parse_escape() {
    char32_t c = text_[pos_++];
    Escaped out;
    auto predefined = [&](std::string pcre, CharSetInfo info) {
      out.is_set = true;
      out.set.items = std::move(pcre);
      out.set.info = info;
      return out;
    };
    switch (c) {
      case 'd':
        return predefined("\\d", info_digit());
      case 'D':
        return predefined("\\D", complement(info_digit()));
      case 'w':
        return predefined("\\w", info_word());
      case 'W':
        return predefined("\\W", complement(info_word()));
      case 's':
        return predefined("\\s", info_space());
      case 'S':
        return predefined("\\S", complement(info_space()));
      case 'h':
        return predefined("\\h", info_blank() | CharSetInfo{{}, true});
      case 'H':
        return predefined("\\H", complement(info_blank()));
      case 'v':
        return predefined("\\v", ascii_range('\n', '\r') | CharSetInfo{{}, true});
      case 'V':
        return predefined("\\V", complement(ascii_range('\n', '\r')));
      case 'p':
      case 'P':
        return parse_property(c == 'P', out);
      case 't':
        out.literal = '\t';
        return out;
      case 'n':
        out.literal = '\n';
        return out;
      case 'r':
        out.literal = '\r';
        return out;
      case 'f':
        out.literal = '\f';
        return out;
      case 'a':
        out.literal = 0x07;
        return out;
      case 'e':
        out.literal = 0x1B;
        return out;
      case '0': {
        // \0n, \0nn, \0mnn (m <= 3)
        int digits = 0;
        char32_t value = 0;
        while (digits < 3 && !at_end() && text_[pos_] >= '0' && text_[pos_] <= '7') {
          char32_t next = value * 8 + (text_[pos_] - '0');
          if (next > 0377) break;
          value = next;
          ++pos_;
          ++digits;
        }
        if (digits == 0) return error("Illegal octal escape sequence");
        out.literal = value;
        return out;
      }
      case 'x': {
        if (peek_raw() == '{') {
          ++pos_;
          char32_t value = 0;
          int digits = 0;
          while (!at_end() && text_[pos_] != '}') {
            auto d = hex_digits(1);
            if (!d) return d.error();
            if (!d->has_value()) return error("Illegal hexadecimal escape sequence");
            value = value * 16 + **d;
            if (value > 0x10FFFF) return error("Hexadecimal codepoint is too big");
            ++digits;
          }
          if (at_end() || digits == 0) return error("Unclosed hexadecimal escape sequence");
          ++pos_;
          out.literal = value;
          return out;
        }
        auto value = hex_digits(2);
        if (!value) return value.error();
        if (!value->has_value()) return error("Illegal hexadecimal escape sequence");
        out.literal = **value;
        return out;
      }
      case 'u': {
        auto value = hex_digits(4);
        if (!value) return value.error();
        if (!value->has_value()) return error("Illegal Unicode escape sequence");
        char32_t cp = **value;
        // A surrogate pair written as two \u escapes is one code point.
        if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 1 < text_.size() && text_[pos_] == '\\' &&
            text_[pos_ + 1] == 'u') {
          std::size_t save = pos_;
          pos_ += 2;
          auto low = hex_digits(4);
          if (low && low->has_value() && **low >= 0xDC00 && **low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (**low - 0xDC00);
          } else {
            pos_ = save;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF)
          return error("unpaired surrogate escapes are not supported");
        out.literal = cp;
        return out;
      }
      case 'c': {
        if (at_end()) return error("Illegal control escape sequence");
        out.literal = text_[pos_++] ^ 64;
        return out;
      }
      case 'N':
        return error("\\N{name} (named characters) is not supported");
      default:
        break;
    }
    if (is_ascii_alnum(c)) return error("Illegal/unsupported escape sequence");
    out.literal = c;  // any other escaped character stands for itself
    return out;
  }

  Result<Escaped> parse_property(bool negate, Escaped out) {
    std::string name;
    if (peek_raw() == '{') {
      ++pos_;
      while (!at_end() && text_[pos_] != '}') {
        if (text_[pos_] >= 0x80) return error("Unknown character property name");
        name += static_cast<char>(text_[pos_++]);
      }
      if (at_end()) return error("Unclosed character family");
      ++pos_;
    } else {
      if (at_end()) return error("Illegal character family");
      name = std::string(1, static_cast<char>(text_[pos_++]));
    }
    if (name.empty()) return error("Empty character family");
    out.is_set = true;
    for (const auto& posix : kPosixClasses) {
      if (name == posix.java || name == "Is" + std::string(posix.java)) {
        out.set.items = std::string("[:") + (negate ? "^" : "") + std::string(posix.posix) + ":]";
        out.set.info = negate ? complement(posix.info()) : posix.info();
        return out;
      }
    }
    std::string pcre = name;
    if (auto eq = name.find('='); eq != std::string::npos) {
      std::string key = name.substr(0, eq);
      if (key == "general_category" || key == "gc" || key == "script" || key == "sc") {
        pcre = name.substr(eq + 1);
      } else {
        return error("Unknown Unicode property {name=<" + key + ">}");
      }
    } else if (name.size() > 2 && name.compare(0, 2, "In") == 0) {
      return error("Unicode blocks (\\p{In...}) are not supported");
    } else if (name.size() > 2 && name.compare(0, 2, "Is") == 0) {
      pcre = name.substr(2);
    }
    for (const auto& alias : kPropertyAliases) {
      if (pcre == alias.java) {
        pcre = std::string(alias.pcre);
        if (alias.negate) negate = !negate;
        break;
      }
    }
    if (pcre.compare(0, 4, "java") == 0)
      return error("Unsupported java.lang.Character class " + name);
    for (char ch : pcre) {
      if (!is_ascii_alnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '&') {
        return error("Unknown character property name {" + name + "}");
      }
    }
    out.set.items = std::string(negate ? "\\P{" : "\\p{") + pcre + "}";
    out.set.info = all_chars();  // Unicode properties: not worth evaluating on ASCII
    return out;
  }

  // Java's clazz(): pos_ is just past '['. `consume`: whether the closing ']' belongs to this
  // class (false for the right operand of &&, which ends where the enclosing class ends).
  Result<ClassPart> parse_class(bool consume, int depth) {
    if (depth > kMaxNesting) return error("pattern nested too deeply");
    std::optional<ClassPart> prev;
    ClassPart bits;
    bool has_bits = false;
    bool negate = false;
    if (consume && peek_raw() == '^') {
      ++pos_;
      negate = true;
    }
    auto merge_bits = [&] {
      if (!has_bits) return;
      prev = prev ? class_union(std::move(*prev), bits) : bits;
      bits = ClassPart{};
      has_bits = false;
    };
    for (;;) {
      char32_t c = peek();
      if (at_end()) return error("Unclosed character class");
      if (c == '[') {
        ++pos_;
        auto nested = parse_class(true, depth + 1);
        if (!nested) return nested.error();
        prev = prev ? class_union(std::move(*prev), *nested) : std::move(nested).value();
        continue;
      }
      if (c == '&' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '&') {
        pos_ += 2;
        std::optional<ClassPart> right;
        for (;;) {
          char32_t r = peek();
          if (at_end()) return error("Unclosed character class");
          if (r == ']' || r == '&') break;
          if (r == '[') {
            ++pos_;
            auto nested = parse_class(true, depth + 1);
            if (!nested) return nested.error();
            right = right ? class_union(std::move(*right), *nested) : std::move(nested).value();
          } else {
            merge_bits();
            auto rest = parse_class(false, depth + 1);
            if (!rest) return rest.error();
            right = right ? class_union(std::move(*right), *rest) : std::move(rest).value();
          }
        }
        merge_bits();
        if (!prev && !right) return error("Bad class syntax");
        if (!prev)
          prev = std::move(right);
        else if (right)
          prev = class_and(*prev, *right);
        continue;
      }
      if (c == ']' && (prev || has_bits)) {
        if (consume) ++pos_;
        merge_bits();
        return negate ? class_negate(std::move(*prev)) : std::move(*prev);
      }
      // One item: a character, an escape or a range.
      auto item = parse_class_item();
      if (!item) return item.error();
      if (item->simple && !item->negated) {
        bits = class_union(std::move(bits), *item);
        has_bits = true;
      } else {
        prev = prev ? class_union(std::move(*prev), *item) : std::move(item).value();
      }
    }
  }

  Result<ClassPart> parse_class_item() {
    char32_t first;
    if (peek() == '\\') {
      ++pos_;
      if (at_end()) return error("Unclosed character class");
      auto escaped = parse_escape();
      if (!escaped) return escaped.error();
      if (escaped->is_set) return escaped->set;
      first = escaped->literal;
    } else {
      first = text_[pos_++];
    }
    ClassPart part;
    if (peek() == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] != '[' &&
        text_[pos_ + 1] != ']') {
      ++pos_;  // '-'
      char32_t last;
      if (peek() == '\\') {
        ++pos_;
        if (at_end()) return error("Unclosed character class");
        auto escaped = parse_escape();
        if (!escaped) return escaped.error();
        if (escaped->is_set) return error("Illegal character range");
        last = escaped->literal;
      } else {
        if (at_end()) return error("Unclosed character class");
        last = text_[pos_++];
      }
      if (last < first) return error("Illegal character range");
      part.items = pcre_literal(first) + "-" + pcre_literal(last);
      for (char32_t ch = first; ch <= last && ch < 128; ++ch) part.info.ascii.set(ch);
      if (last >= 128) part.info.non_ascii = true;
      return part;
    }
    part.items = pcre_literal(first);
    part.info = single(first);
    return part;
  }

  std::string_view original_;
  std::string quoted_;
  std::vector<char32_t> text_;
  std::size_t pos_ = 0;
  Flags flags_;
  int groups_seen_ = 0;
  bool has_caseless_ = false;
  std::vector<std::pair<std::string, int>> named_;
};

void emit(const std::vector<std::vector<RegexNode>>& alternatives, std::string& out);

void emit_node(const RegexNode& node, std::string& out) {
  using Kind = RegexNode::Kind;
  switch (node.kind) {
    case Kind::kLiteral:
      out += pcre_literal(node.literal);
      return;
    case Kind::kCharSet:
    case Kind::kAssertion:
    case Kind::kBackref:
    case Kind::kFlags:
    case Kind::kMulti:
      out += node.pcre;
      return;
    case Kind::kGroup: {
      using Group = RegexNode::Group;
      switch (node.group) {
        case Group::kCapture:
          out += "(";
          break;
        case Group::kNamed:
          out += "(?<" + node.name + ">";
          break;
        case Group::kNonCapture:
          out += "(?:";
          break;
        case Group::kLookahead:
          out += "(?=";
          break;
        case Group::kNegLookahead:
          out += "(?!";
          break;
        case Group::kLookbehind:
          out += "(?<=";
          break;
        case Group::kNegLookbehind:
          out += "(?<!";
          break;
        case Group::kAtomic:
          out += "(?>";
          break;
        case Group::kFlagged:
          out += node.pcre;
          break;
      }
      emit(node.alternatives, out);
      out += ")";
      return;
    }
    case Kind::kRepeat: {
      out += "(?:";
      emit_node(node.alternatives[0][0], out);
      out += ")";
      if (node.min == 0 && node.max == -1)
        out += "*";
      else if (node.min == 1 && node.max == -1)
        out += "+";
      else if (node.min == 0 && node.max == 1)
        out += "?";
      else if (node.max == -1)
        out += "{" + std::to_string(node.min) + ",}";
      else if (node.min == node.max)
        out += "{" + std::to_string(node.min) + "}";
      else
        out += "{" + std::to_string(node.min) + "," + std::to_string(node.max) + "}";
      if (node.greed == RegexNode::Greed::kLazy) out += "?";
      if (node.greed == RegexNode::Greed::kPossessive) out += "+";
      return;
    }
  }
}

void emit(const std::vector<std::vector<RegexNode>>& alternatives, std::string& out) {
  for (std::size_t i = 0; i < alternatives.size(); ++i) {
    if (i > 0) out += "|";
    for (const auto& node : alternatives[i]) emit_node(node, out);
  }
}

// Per-thread PCRE2 match state: the match data is sized for the largest pattern seen on this
// thread; the JIT stack allows deep backtracking on long subjects.
struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  uint32_t pairs = 0;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;

  ThreadMatchState() {
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    if (context && jit_stack) pcre2_jit_stack_assign(context, nullptr, jit_stack);
    // Bounds a pathological pattern instead of spinning: counted as no match.
    if (context) pcre2_set_match_limit(context, 20'000'000);
  }
  ~ThreadMatchState() {
    if (data) pcre2_match_data_free(data);
    if (jit_stack) pcre2_jit_stack_free(jit_stack);
    if (context) pcre2_match_context_free(context);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;

  pcre2_match_data* for_pairs(uint32_t needed) {
    if (!data || pairs < needed) {
      if (data) pcre2_match_data_free(data);
      pairs = std::max<uint32_t>(needed, 16);
      data = pcre2_match_data_create(pairs, nullptr);
    }
    return data;
  }
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};

Result<std::unique_ptr<pcre2_code, CodeDeleter>> compile_pcre(const std::string& pattern,
                                                              uint32_t options,
                                                              std::string_view shown) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  if (!context) return Error{ErrorKind::kInternal, std::string(shown), "out of memory"};
  pcre2_set_newline(context, PCRE2_NEWLINE_ANYCRLF);
  pcre2_set_bsr(context, PCRE2_BSR_UNICODE);
  int code_error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    options | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C,
                    &code_error, &offset, context);
  pcre2_compile_context_free(context);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code_error, message, sizeof message);
    return Error{
        ErrorKind::kConfig, std::string(shown),
        std::string("not supported by the PCRE2 translation: ") + reinterpret_cast<char*>(message)};
  }
  return std::unique_ptr<pcre2_code, CodeDeleter>(code);
}

}  // namespace

Result<RegexAst> parse_java_regex(std::string_view pattern) { return Parser(pattern).parse(); }

std::string to_pcre2(const std::vector<std::vector<RegexNode>>& alternatives) {
  std::string out;
  emit(alternatives, out);
  return out;
}

struct JavaRegex::Impl {
  RegexAst ast;
  std::unique_ptr<pcre2_code, CodeDeleter> code;
  bool jit = false;
  bool partial = false;  // compile_raw_anchored
  uint32_t pairs = 1;
};

JavaRegex::JavaRegex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JavaRegex::JavaRegex(JavaRegex&&) noexcept = default;
JavaRegex& JavaRegex::operator=(JavaRegex&&) noexcept = default;
JavaRegex::~JavaRegex() = default;

Result<JavaRegex> JavaRegex::compile(std::string_view java_pattern) {
  // Exactly what jmx_exporter compiles; parsing the whole string keeps Java's reading of odd
  // patterns such as "a)(b" (which the wrapper balances).
  std::string wrapped = "^.*(?:" + std::string(java_pattern) + ").*$";
  auto ast = parse_java_regex(wrapped);
  if (!ast) {
    Error e = ast.error();
    e.target = std::string(java_pattern);
    return e;
  }
  auto impl = std::make_unique<Impl>();
  impl->ast = std::move(ast).value();
  auto code = compile_pcre(to_pcre2(impl->ast.alternatives), PCRE2_ANCHORED | PCRE2_ENDANCHORED,
                           java_pattern);
  if (!code) return code.error();
  impl->code = std::move(code).value();
  impl->jit = pcre2_jit_compile(impl->code.get(), PCRE2_JIT_COMPLETE) == 0;
  impl->pairs = static_cast<uint32_t>(impl->ast.capture_count) + 1;
  return JavaRegex(std::move(impl));
}

Result<JavaRegex> JavaRegex::compile_raw_anchored(const std::string& pcre2_pattern) {
  auto impl = std::make_unique<Impl>();
  auto code = compile_pcre(pcre2_pattern, PCRE2_ANCHORED, pcre2_pattern);
  if (!code) return code.error();
  impl->code = std::move(code).value();
  impl->partial = true;
  uint32_t captures = 0;
  pcre2_pattern_info(impl->code.get(), PCRE2_INFO_CAPTURECOUNT, &captures);
  impl->pairs = captures + 1;
  return JavaRegex(std::move(impl));
}

bool JavaRegex::full_match(std::string_view subject, const std::size_t** groups) const {
  auto& state = thread_match_state();
  pcre2_match_data* data = state.for_pairs(impl_->pairs);
  if (!data) return false;
  int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                       subject.size(), 0, 0, data, state.context);
  if (rc < 0) return false;
  if (groups) {
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    // Groups past the highest one that matched are not written by PCRE2.
    uint32_t set = static_cast<uint32_t>(rc == 0 ? impl_->pairs : static_cast<uint32_t>(rc));
    for (uint32_t i = set; i < impl_->pairs; ++i) ovector[2 * i] = ovector[2 * i + 1] = PCRE2_UNSET;
    static_assert(sizeof(PCRE2_SIZE) == sizeof(std::size_t));
    *groups = reinterpret_cast<const std::size_t*>(ovector);
  }
  return true;
}

bool JavaRegex::prefix_or_partial_match(std::string_view subject) const {
  auto& state = thread_match_state();
  pcre2_match_data* data = state.for_pairs(impl_->pairs);
  if (!data) return true;
  int rc = pcre2_match(impl_->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                       subject.size(), 0, PCRE2_PARTIAL_HARD, data, state.context);
  return rc >= 0 || rc == PCRE2_ERROR_PARTIAL || rc == PCRE2_ERROR_MATCHLIMIT;
}

int JavaRegex::capture_count() const { return impl_->ast.capture_count; }

int JavaRegex::group_number(std::string_view name) const {
  for (const auto& [n, number] : impl_->ast.named_groups) {
    if (n == name) return number;
  }
  return -1;
}

const RegexAst& JavaRegex::ast() const { return impl_->ast; }

Result<JavaReplacement> JavaReplacement::parse(std::string_view text, const JavaRegex* regex) {
  JavaReplacement out;
  auto fail = [&](std::string message) {
    return Error{ErrorKind::kConfig, std::string(text), std::move(message)};
  };
  int groups = regex ? regex->capture_count() : 0;
  std::size_t literal_start = 0;
  auto close_literal = [&] {
    if (out.text_.size() > literal_start)
      out.segments_.push_back({literal_start, out.text_.size(), -1});
    literal_start = out.text_.size();
  };
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return fail("character to be escaped is missing (a trailing '\\')");
      out.text_ += text[i + 1];
      i += 2;
      continue;
    }
    if (c != '$') {
      out.text_ += c;
      ++i;
      continue;
    }
    ++i;
    if (i >= text.size())
      return fail("Illegal group reference: group index is missing (write \\$ for a '$')");
    int group;
    if (text[i] == '{') {
      ++i;
      std::string name;
      while (i < text.size() && is_ascii_alnum(static_cast<unsigned char>(text[i])))
        name += text[i++];
      if (name.empty()) return fail("named capturing group has 0 length name");
      if (i >= text.size() || text[i] != '}')
        return fail("named capturing group is missing trailing '}'");
      ++i;
      if (is_ascii_digit(static_cast<unsigned char>(name[0]))) {
        return fail("capturing group name {" + name + "} starts with digit character");
      }
      group = regex ? regex->group_number(name) : -1;
      if (group < 0) return fail("No group with name {" + name + "}");
    } else {
      if (!is_ascii_digit(static_cast<unsigned char>(text[i]))) {
        return fail("Illegal group reference (write \\$ for a '$')");
      }
      group = text[i++] - '0';
      while (i < text.size() && is_ascii_digit(static_cast<unsigned char>(text[i]))) {
        int next = group * 10 + (text[i] - '0');
        if (next > groups) break;
        group = next;
        ++i;
      }
      if (group > groups) {
        return fail("No group " + std::to_string(group) + ": the pattern has " +
                    std::to_string(groups) + " capturing group" + (groups == 1 ? "" : "s"));
      }
    }
    close_literal();
    out.segments_.push_back({0, 0, group});
    ++out.refs_;
  }
  close_literal();
  return out;
}

void JavaReplacement::expand(std::string_view subject, const std::size_t* groups,
                             std::string& out) const {
  for (const auto& segment : segments_) {
    if (segment.group < 0) {
      out.append(text_, segment.begin, segment.end - segment.begin);
      continue;
    }
    std::size_t begin = groups[2 * segment.group], end = groups[2 * segment.group + 1];
    if (begin != JavaRegex::kUnset && end != JavaRegex::kUnset && begin <= end &&
        end <= subject.size()) {
      out.append(subject.substr(begin, end - begin));
    }
  }
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::optional<double> parse_java_double(std::string_view text) {
  // String.trim(): every char <= ' ' at both ends.
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ') text.remove_prefix(1);
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  bool negative = false;
  if (text.front() == '+' || text.front() == '-') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  auto sign = [negative](double v) { return negative ? -v : v; };
  if (text == "NaN") return std::nan("");
  if (text == "Infinity") return sign(HUGE_VAL);
  // Java's optional type suffix.
  if (!text.empty() &&
      (text.back() == 'f' || text.back() == 'F' || text.back() == 'd' || text.back() == 'D')) {
    bool hex = text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    // In a hex float the suffix comes after the binary exponent; a bare hex digit 'd'/'f'
    // without 'p' is simply invalid, which the checks below report.
    if (!hex || text.find_first_of("pP") != std::string_view::npos) text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  if (text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string_view body = text.substr(2);
    auto p = body.find_first_of("pP");
    if (p == std::string_view::npos || p == 0) return std::nullopt;  // Java requires the exponent
    std::string_view mantissa = body.substr(0, p), exponent = body.substr(p + 1);
    if (mantissa == ".") return std::nullopt;
    for (char c : mantissa) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.') return std::nullopt;
    }
    if (std::count(mantissa.begin(), mantissa.end(), '.') > 1) return std::nullopt;
    std::string_view digits = exponent;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    std::string normal(body);
    auto [end, ec] = std::from_chars(normal.data(), normal.data() + normal.size(), value,
                                     std::chars_format::hex);
    if (end != normal.data() + normal.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves value untouched on range errors: Java gives 0 or Infinity.
      value = exponent.find('-') != std::string_view::npos ? 0.0 : HUGE_VAL;
    }
    return sign(value);
  }
  // Decimal: digits [. digits] [e[sign]digits], at least one digit in the mantissa.
  std::size_t i = 0, mantissa_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++mantissa_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    std::size_t exponent_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++exponent_digits;
    if (exponent_digits == 0) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (end != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Underflow rounds to 0, overflow to Infinity, as Java does.
    auto e = text.find_first_of("eE");
    bool tiny =
        e != std::string_view::npos && text.substr(e + 1).find('-') != std::string_view::npos;
    value = tiny ? 0.0 : HUGE_VAL;
  }
  return sign(value);
}

}  // namespace khe::jmx
