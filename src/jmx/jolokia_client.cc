// The pure half of the Jolokia client: the bulk request and the reply walker.
//
// Why not simdjson's parsers: LeafValue.text must be the number as Jolokia wrote it ("5.0",
// "1.0E-4"), which simdjson's DOM does not keep; some agents write bare NaN / Infinity tokens,
// which simdjson rejects; and On-Demand finds errors only while walking, after callbacks ran.
// So the reply is validated in one pass into a compact token tape (strings and numbers stay
// views into the body), then walked. simdjson still validates the UTF-8 of the whole body:
// label values built from it must be valid UTF-8 or Prometheus rejects the whole scrape.
#include "khe/jmx/jolokia_client.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace khe::jmx {
namespace {

constexpr std::size_t kMaxDepth = 512;
constexpr std::size_t kMaxMessage = 300;  // agent error texts quoted in an Error

// ---------------------------------------------------------------------------------------------
// The tape: one token per JSON value or object key, in document order.

enum class Tag : std::uint8_t {
  kArray,
  kObject,
  kString,
  kNumber,
  kSpecialNumber,
  kTrue,
  kFalse,
  kNull
};

struct Token {
  std::uint32_t begin;  // scalars: first byte of the text (strings: after the opening quote)
  std::uint32_t size;   // scalars: length of the text; containers: index of the token after it
  Tag tag;
  bool escaped;  // a string with backslash escapes (its text is not its value)
};

// A growable array of Tokens whose append is inlined into the parser's loop (std::vector's
// emplace_back was a tenth of the walk). Token is trivially copyable, so growth is realloc.
class TokenBuffer {
 public:
  TokenBuffer() = default;
  TokenBuffer(TokenBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  TokenBuffer& operator=(TokenBuffer&&) = delete;
  TokenBuffer(const TokenBuffer&) = delete;
  ~TokenBuffer() { std::free(data_); }

  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    void* grown = std::realloc(data_, n * sizeof(Token));
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<Token*>(grown);
    capacity_ = n;
  }
  void push_back(const Token& t) {
    if (size_ == capacity_) [[unlikely]]
      reserve(capacity_ * 2 + 64);
    data_[size_++] = t;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Token& operator[](std::size_t i) { return data_[i]; }
  const Token& operator[](std::size_t i) const { return data_[i]; }

 private:
  Token* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

struct Tape {
  std::string_view text;
  TokenBuffer tokens;

  std::uint32_t next(std::uint32_t i) const {
    const Token& t = tokens[i];
    return (t.tag == Tag::kArray || t.tag == Tag::kObject) ? t.size : i + 1;
  }
  std::string_view raw(const Token& t) const { return text.substr(t.begin, t.size); }
};

// Iterates an object's members: key token index, value token index.
template <typename Fn>
void for_each_member(const Tape& tape, std::uint32_t object, Fn&& fn) {
  const std::uint32_t end = tape.tokens[object].size;
  for (std::uint32_t key = object + 1; key < end;) {
    const std::uint32_t value = key + 1;
    if (!fn(key, value)) return;
    key = tape.next(value);
  }
}

template <typename Fn>
void for_each_element(const Tape& tape, std::uint32_t array, Fn&& fn) {
  const std::uint32_t end = tape.tokens[array].size;
  for (std::uint32_t i = array + 1; i < end; i = tape.next(i)) fn(i);
}

// Finds the first '"', '\\' or control character at or after `p`.
const char* find_string_special(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1F);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                               _mm_cmpeq_epi8(_mm_min_epu8(v, control_max), v));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Validates JSON (plus the bare NaN / Infinity / -Infinity tokens) into a tape.
class Parser {
 public:
  Parser(std::string_view text, TokenBuffer& tokens)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), tokens_(tokens) {}

  // nullptr when the text is one valid JSON value, else why not; offset() says where.
  const char* run() {
    skip_ws();
    for (;;) {
      if (p_ == end_) return "the reply ends early (truncated)";
      bool value_done = true;
      switch (*p_) {
        case '{':
        case '[': {
          if (stack_.size() >= kMaxDepth) return "nested deeper than 512 levels";
          const bool object = *p_ == '{';
          stack_.push_back(static_cast<std::uint32_t>(tokens_.size()));
          push(object ? Tag::kObject : Tag::kArray, 0, 0, false);
          ++p_;
          skip_ws();
          if (p_ == end_) return "the reply ends early (truncated)";
          if (*p_ == (object ? '}' : ']')) {
            ++p_;
            close_top();
          } else if (object) {
            if (const char* e = key_and_colon()) return e;
            value_done = false;
          } else {
            value_done = false;
          }
          break;
        }
        case '"':
          if (const char* e = string()) return e;
          break;
        case 't':
          if (const char* e = literal("true", Tag::kTrue)) return e;
          break;
        case 'f':
          if (const char* e = literal("false", Tag::kFalse)) return e;
          break;
        case 'n':
          if (const char* e = literal("null", Tag::kNull)) return e;
          break;
        case 'N':
          if (const char* e = literal("NaN", Tag::kSpecialNumber)) return e;
          break;
        case 'I':
          if (const char* e = literal("Infinity", Tag::kSpecialNumber)) return e;
          break;
        default:
          if (const char* e = number()) return e;
          break;
      }
      if (!value_done) continue;
      // After a value: a separator, the end of containers, or the end of the text.
      for (;;) {
        skip_ws();
        if (stack_.empty()) return p_ == end_ ? nullptr : "unexpected text after the reply";
        if (p_ == end_) return "the reply ends early (truncated)";
        const bool object = tokens_[stack_.back()].tag == Tag::kObject;
        if (*p_ == ',') {
          ++p_;
          skip_ws();
          if (object) {
            if (const char* e = key_and_colon()) return e;
          }
          break;
        }
        if (*p_ != (object ? '}' : ']'))
          return object ? "expected ',' or '}'" : "expected ',' or ']'";
        ++p_;
        close_top();
      }
    }
  }

  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }

 private:
  void push(Tag tag, std::size_t begin, std::size_t size, bool escaped) {
    tokens_.push_back(
        Token{static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(size), tag, escaped});
  }
  void close_top() {
    tokens_[stack_.back()].size = static_cast<std::uint32_t>(tokens_.size());
    stack_.pop_back();
  }
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  const char* key_and_colon() {
    if (p_ == end_) return "the reply ends early (truncated)";
    if (*p_ != '"') return "expected a string key";
    if (const char* e = string()) return e;
    skip_ws();
    if (p_ == end_) return "the reply ends early (truncated)";
    if (*p_ != ':') return "expected ':'";
    ++p_;
    skip_ws();
    return nullptr;
  }

  const char* string() {
    const char* start = ++p_;
    bool escaped = false;
    for (;;) {
      p_ = find_string_special(p_, end_);
      if (p_ == end_) return "the reply ends early (truncated)";
      const char c = *p_;
      if (c == '"') break;
      if (c != '\\') return "control character in a string";
      escaped = true;
      if (++p_ == end_) return "the reply ends early (truncated)";
      switch (*p_) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          ++p_;
          break;
        case 'u':
          if (end_ - p_ < 5) return "the reply ends early (truncated)";
          for (int i = 1; i <= 4; ++i) {
            if (!is_hex(p_[i])) return "bad \\u escape";
          }
          p_ += 5;
          break;
        default:
          return "bad escape in a string";
      }
    }
    push(Tag::kString, static_cast<std::size_t>(start - begin_),
         static_cast<std::size_t>(p_ - start), escaped);
    ++p_;
    return nullptr;
  }

  const char* literal(std::string_view word, Tag tag) {
    if (static_cast<std::size_t>(end_ - p_) < word.size())
      return "the reply ends early (truncated)";
    if (std::memcmp(p_, word.data(), word.size()) != 0) return "invalid literal";
    push(tag, offset(), word.size(), false);
    p_ += word.size();
    return nullptr;
  }

  const char* number() {
    const char* start = p_;
    if (*p_ == '-') {
      if (++p_ == end_) return "the reply ends early (truncated)";
      if (*p_ == 'I') {
        constexpr std::string_view kInfinity = "Infinity";
        if (static_cast<std::size_t>(end_ - p_) < kInfinity.size())
          return "the reply ends early (truncated)";
        if (std::memcmp(p_, kInfinity.data(), kInfinity.size()) != 0) return "invalid literal";
        p_ += kInfinity.size();
        push(Tag::kSpecialNumber, static_cast<std::size_t>(start - begin_),
             static_cast<std::size_t>(p_ - start), false);
        return nullptr;
      }
    }
    if (p_ == end_) return "the reply ends early (truncated)";
    if (*p_ == '0') {
      ++p_;
    } else if (is_digit(*p_)) {
      while (p_ < end_ && is_digit(*p_)) ++p_;
    } else {
      return "unexpected character";
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_) return "the reply ends early (truncated)";
      if (!is_digit(*p_)) return "bad number";
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_) return "the reply ends early (truncated)";
      if (!is_digit(*p_)) return "bad number";
      while (p_ < end_ && is_digit(*p_)) ++p_;
    }
    push(Tag::kNumber, static_cast<std::size_t>(start - begin_),
         static_cast<std::size_t>(p_ - start), false);
    return nullptr;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  TokenBuffer& tokens_;
  std::vector<std::uint32_t> stack_;  // open containers
};

Result<Tape> parse_tape(std::string_view body) {
  if (body.size() >= std::numeric_limits<std::uint32_t>::max()) {
    return Error{ErrorKind::kProtocol, "",
                 "reply of " + std::to_string(body.size()) + " bytes is too large to walk"};
  }
  if (!simdjson::validate_utf8(body.data(), body.size())) {
    return Error{ErrorKind::kProtocol, "", "reply is not valid UTF-8"};
  }
  Tape tape;
  tape.text = body;
  // A real reply has a token per ~12 bytes; reserving avoids most regrowth copies.
  tape.tokens.reserve(body.size() / 12 + 16);
  Parser parser(body, tape.tokens);
  if (const char* why = parser.run()) {
    return Error{ErrorKind::kProtocol, "",
                 "reply is not valid JSON: " + std::string(why) + " at byte " +
                     std::to_string(parser.offset()) + " of " + std::to_string(body.size())};
  }
  return tape;
}

// ---------------------------------------------------------------------------------------------
// Strings

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::uint32_t hex4(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    v = v * 16 + static_cast<std::uint32_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

// Unescapes a validated string's text. A lone surrogate becomes U+FFFD, so the result is
// always valid UTF-8 (Java writes unpaired surrogates, label values must not carry them).
void unescape(std::string_view raw, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t run = raw.find('\\', i);
    if (run == std::string_view::npos) run = raw.size();
    out.append(raw.data() + i, run - i);
    if (run == raw.size()) break;
    const char c = raw[run + 1];
    i = run + 2;
    switch (c) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t cp = hex4(raw.data() + i);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          if (i + 6 <= raw.size() && raw[i] == '\\' && raw[i + 1] == 'u') {
            std::uint32_t low = hex4(raw.data() + i + 2);
            if (low >= 0xDC00 && low < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              i += 6;
            } else {
              cp = 0xFFFD;
            }
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        append_utf8(cp, out);
        break;
      }
      default:
        out += c;
        break;  // '"', '\\', '/'
    }
  }
}

// A string token's value: a view into the body, or into `scratch` when it had escapes.
std::string_view string_of(const Tape& tape, const Token& t, std::string& scratch) {
  if (!t.escaped) return tape.raw(t);
  unescape(tape.raw(t), scratch);
  return scratch;
}

std::string bounded(std::string_view text) {
  if (text.size() <= kMaxMessage) return std::string(text);
  // Cut at a UTF-8 character boundary.
  std::size_t cut = kMaxMessage;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

double number_of(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc()) return value;
  // Out of range (a huge BigInteger, or a tiny or huge exponent): what Java's doubleValue()
  // makes of it.
  const bool negative = !text.empty() && text[0] == '-';
  auto e = text.find_first_of("eE");
  bool tiny = e != std::string_view::npos && e + 1 < text.size() && text[e + 1] == '-';
  if (e == std::string_view::npos) {
    std::string_view integer = text.substr(negative ? 1 : 0);
    tiny = !integer.empty() && integer[0] == '0';
  }
  if (tiny) return negative ? -0.0 : 0.0;
  return negative ? -std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::infinity();
}

double special_number_of(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return text[0] == '-' ? -std::numeric_limits<double>::infinity()
                        : std::numeric_limits<double>::infinity();
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

const std::string* property(const PropertyList& properties, std::string_view key) {
  for (const auto& [k, v] : properties) {
    if (k == key) return &v;
  }
  return nullptr;
}

// The TabularData of a broker JVM that Jolokia renders as MXBean maps ({key: value}); see the
// header for why a table and not a guess.
struct KnownTabular {
  std::string_view domain;
  std::string_view type;
  std::string_view outer_key;  // the composite the tabular sits in ("" for an attribute)
  std::string_view name;
};
constexpr KnownTabular kMxBeanMaps[] = {
    {"java.lang", "Runtime", "", "SystemProperties"},
    {"java.lang", "GarbageCollector", "LastGcInfo", "memoryUsageBeforeGc"},
    {"java.lang", "GarbageCollector", "LastGcInfo", "memoryUsageAfterGc"},
};

bool is_mxbean_map(const ObjectName& bean, const std::vector<std::string>& attr_keys,
                   std::string_view name) {
  if (attr_keys.size() > 1) return false;
  for (const auto& known : kMxBeanMaps) {
    if (name != known.name || bean.domain != known.domain) continue;
    if (known.outer_key.empty() ? !attr_keys.empty()
                                : (attr_keys.empty() || attr_keys[0] != known.outer_key)) {
      continue;
    }
    const std::string* type = property(bean.properties, "type");
    if (type != nullptr && *type == known.type) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The walk

class Walker {
 public:
  Walker(const Tape& tape, const BeanFilter& filter, const LeafCallback& on_leaf)
      : tape_(tape), filter_(filter), on_leaf_(on_leaf) {}

  ElementOutcome walk_element(std::uint32_t element, const PlannedRead& read) {
    ElementOutcome outcome;
    outcome_ = &outcome;
    malformed_names_ = 0;
    const Token& t = tape_.tokens[element];
    if (t.tag != Tag::kObject) {
      outcome.error = Error{ErrorKind::kProtocol, "", "reply element is not an object"};
      return outcome;
    }
    std::optional<std::uint32_t> status, value, error, error_type;
    std::string scratch;
    for_each_member(tape_, element, [&](std::uint32_t key, std::uint32_t v) {
      std::string_view name = string_of(tape_, tape_.tokens[key], scratch);
      if (name == "status")
        status = v;
      else if (name == "value")
        value = v;
      else if (name == "error")
        error = v;
      else if (name == "error_type")
        error_type = v;
      return true;
    });
    int code = 0;
    if (!status || tape_.tokens[*status].tag != Tag::kNumber) {
      outcome.error = Error{ErrorKind::kProtocol, "", "reply element has no numeric status"};
      return outcome;
    }
    std::string_view status_text = tape_.raw(tape_.tokens[*status]);
    auto [end, ec] =
        std::from_chars(status_text.data(), status_text.data() + status_text.size(), code);
    if (ec != std::errc() || end != status_text.data() + status_text.size()) {
      outcome.error = Error{ErrorKind::kProtocol, "", "reply element status is not an integer"};
      return outcome;
    }
    if (code != 200) {
      std::string text = error ? text_of(*error) : std::string();
      if (text.empty() && error_type) text = text_of(*error_type);
      if (code == 404 ||
          (code == 400 && text.find("No matching attributes") != std::string::npos)) {
        outcome.empty = true;
        return outcome;
      }
      ErrorKind kind = (code == 401 || code == 403) ? ErrorKind::kAuth : ErrorKind::kProtocol;
      outcome.error = Error{
          kind, "", "status " + std::to_string(code) + (text.empty() ? "" : ": " + bounded(text))};
      return outcome;
    }
    if (!value) {
      outcome.error = Error{ErrorKind::kProtocol, "", "status 200 without a value"};
      return outcome;
    }
    if (is_object_name_pattern(read.mbean)) {
      walk_pattern_value(*value);
    } else {
      walk_plain_value(*value, read);
    }
    if (malformed_names_ > 0) {
      outcome.error =
          Error{ErrorKind::kProtocol, "",
                std::to_string(malformed_names_) +
                    " MBean name(s) in the reply could not be parsed, first: " + first_malformed_};
    }
    return outcome;
  }

 private:
  std::string text_of(std::uint32_t index) {
    const Token& t = tape_.tokens[index];
    if (t.tag != Tag::kString) return std::string(tape_.raw(t));
    std::string scratch;
    return std::string(string_of(tape_, t, scratch));
  }

  void walk_pattern_value(std::uint32_t value) {
    const Token& t = tape_.tokens[value];
    if (t.tag != Tag::kObject) {
      outcome_->error =
          Error{ErrorKind::kProtocol, "", "the value of a pattern read is not a map of MBeans"};
      return;
    }
    if (t.size == value + 1) {
      outcome_->empty = true;
      return;
    }
    for_each_member(tape_, value, [&](std::uint32_t key, std::uint32_t attributes) {
      std::string_view text = string_of(tape_, tape_.tokens[key], name_scratch_);
      if (auto error = ObjectName::parse_into(text, bean_)) {
        if (malformed_names_++ == 0) first_malformed_ = bounded(text) + " (" + error->message + ")";
        return true;
      }
      ++outcome_->beans;
      if (!filter_(bean_)) return true;
      if (tape_.tokens[attributes].tag != Tag::kObject) {
        if (malformed_names_++ == 0)
          first_malformed_ = bounded(text) + " (its value is not an attribute map)";
        return true;
      }
      walk_attribute_map(attributes);
      return true;
    });
  }

  void walk_plain_value(std::uint32_t value, const PlannedRead& read) {
    if (auto error = ObjectName::parse_into(read.mbean, bean_)) {
      outcome_->error =
          Error{ErrorKind::kProtocol, "", "cannot name the MBean read: " + error->message};
      return;
    }
    outcome_->beans = 1;
    if (!filter_(bean_)) return;
    const Token& t = tape_.tokens[value];
    // One attribute asked for in a list gives {attr: value}; an agent that answers the value
    // itself is tolerated.
    if (read.attributes.size() == 1) {
      bool map_form = false;
      if (t.tag == Tag::kObject && t.size > value + 1 && tape_.next(value + 2) == t.size) {
        map_form = string_of(tape_, tape_.tokens[value + 1], name_scratch_) == read.attributes[0];
      }
      if (!map_form) {
        walk_attribute(read.attributes[0], value);
        return;
      }
    }
    if (t.tag != Tag::kObject) {
      outcome_->error =
          Error{ErrorKind::kProtocol, "", "the value of a read is not an attribute map"};
      return;
    }
    walk_attribute_map(value);
  }

  void walk_attribute_map(std::uint32_t attributes) {
    for_each_member(tape_, attributes, [&](std::uint32_t key, std::uint32_t value) {
      std::string owned;
      walk_attribute(string_of(tape_, tape_.tokens[key], owned), value);
      return true;
    });
  }

  // One top-level attribute: skips what the agent could not read, then flattens.
  void walk_attribute(std::string_view name, std::uint32_t value) {
    const Token& t = tape_.tokens[value];
    if (t.tag == Tag::kString) {
      std::string_view raw = tape_.raw(t);
      if (raw.starts_with("ERROR: ") || raw == "Unsupported") {
        ++outcome_->ignored_attributes;
        return;
      }
    } else if (t.tag == Tag::kObject && is_error_object(value)) {
      ++outcome_->ignored_attributes;
      return;
    }
    attr_keys_.clear();
    flatten(value, bean_.properties, name, true);
  }

  // Jolokia >= 2.4.2 with ignoreErrors: {".error": true, ...} in place of the value.
  bool is_error_object(std::uint32_t object) {
    bool error = false;
    for_each_member(tape_, object, [&](std::uint32_t key, std::uint32_t value) {
      if (tape_.raw(tape_.tokens[key]) == ".error" && tape_.tokens[value].tag == Tag::kTrue) {
        error = true;
        return false;
      }
      return true;
    });
    return error;
  }

  // Jolokia's rendering of an ObjectName value: exactly {"objectName": "<string>"}.
  bool is_object_name_value(std::uint32_t object) {
    const Token& t = tape_.tokens[object];
    return t.size == object + 3 && tape_.raw(tape_.tokens[object + 1]) == "objectName" &&
           tape_.tokens[object + 2].tag == Tag::kString;
  }

  void emit(const PropertyList& properties, std::string_view name, LeafValue value) {
    ++outcome_->leaves;
    on_leaf_(BeanLeaf{bean_.domain, properties, attr_keys_, name, value});
  }

  // jmx_exporter's processBeanValue. `lookup` is false for the value column of an MXBean map
  // row, which carries the same attribute path as the map itself.
  void flatten(std::uint32_t index, const PropertyList& properties, std::string_view name,
               bool lookup) {
    const Token& t = tape_.tokens[index];
    LeafValue value;
    switch (t.tag) {
      case Tag::kNumber:
        value.kind = LeafValue::Kind::kNumber;
        value.text = tape_.raw(t);
        value.number = number_of(value.text);
        emit(properties, name, value);
        return;
      case Tag::kSpecialNumber:
        value.kind = LeafValue::Kind::kNumber;
        value.text = tape_.raw(t);
        value.number = special_number_of(value.text);
        emit(properties, name, value);
        return;
      case Tag::kTrue:
      case Tag::kFalse:
        value.kind = LeafValue::Kind::kBoolean;
        value.text = tape_.raw(t);
        value.number = t.tag == Tag::kTrue ? 1 : 0;
        emit(properties, name, value);
        return;
      case Tag::kNull:
        value.kind = LeafValue::Kind::kNull;
        value.text = "null";
        emit(properties, name, value);
        return;
      case Tag::kString: {
        value.kind = LeafValue::Kind::kString;
        std::string scratch;
        value.text = t.escaped ? string_of(tape_, t, scratch) : tape_.raw(t);
        emit(properties, name, value);
        return;
      }
      case Tag::kArray:
        return;  // "arrays are unsupported"
      case Tag::kObject:
        break;
    }
    if (is_object_name_value(index)) return;
    if (lookup && is_mxbean_map(bean_, attr_keys_, name)) {
      // TabularData rows: the index column `key` becomes a bean property (with '_' appended
      // while the name is taken), the `value` column keeps the attribute's name and keys.
      PropertyList row = properties;
      std::string label = "key";
      while (property(row, label) != nullptr) label += '_';
      row.emplace_back(std::move(label), std::string());
      for_each_member(tape_, index, [&](std::uint32_t key, std::uint32_t value_index) {
        std::string owned;
        row.back().second = std::string(string_of(tape_, tape_.tokens[key], owned));
        flatten(value_index, row, name, false);
        return true;
      });
      return;
    }
    attr_keys_.emplace_back(name);
    for_each_member(tape_, index, [&](std::uint32_t key, std::uint32_t value_index) {
      std::string owned;
      flatten(value_index, properties, string_of(tape_, tape_.tokens[key], owned), true);
      return true;
    });
    attr_keys_.pop_back();
  }

  const Tape& tape_;
  const BeanFilter& filter_;
  const LeafCallback& on_leaf_;
  ElementOutcome* outcome_ = nullptr;  // of the element being walked
  ObjectName bean_;                    // the bean being walked, reused across beans
  std::vector<std::string> attr_keys_;
  std::string name_scratch_;
  std::size_t malformed_names_ = 0;
  std::string first_malformed_;
};

void append_json_string(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string build_bulk_request(const std::vector<PlannedRead>& reads) {
  std::string out = "[";
  for (std::size_t i = 0; i < reads.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"type":"read","mbean":)";
    append_json_string(reads[i].mbean, out);
    if (!reads[i].attributes.empty()) {
      out += R"(,"attribute":[)";
      for (std::size_t a = 0; a < reads[i].attributes.size(); ++a) {
        if (a > 0) out += ',';
        append_json_string(reads[i].attributes[a], out);
      }
      out += ']';
    }
    out += R"(,"config":{"canonicalNaming":false,"ignoreErrors":true}})";
  }
  out += ']';
  return out;
}

bool is_object_name_pattern(std::string_view mbean) {
  bool quoted = false;
  for (std::size_t i = 0; i < mbean.size(); ++i) {
    const char c = mbean[i];
    if (quoted && c == '\\') {
      ++i;  // \* and \? in a quoted value are literal
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '*' || c == '?') {
      return true;
    }
  }
  return false;
}

std::optional<std::string> agent_error_text(std::string_view body) {
  auto tape = parse_tape(body);
  if (!tape || tape->tokens.empty() || tape->tokens[0].tag != Tag::kObject) return std::nullopt;
  std::optional<std::string> error, error_type;
  std::string scratch;
  for_each_member(*tape, 0, [&](std::uint32_t key, std::uint32_t value) {
    const Token& v = tape->tokens[value];
    if (v.tag != Tag::kString) return true;
    std::string_view name = tape->raw(tape->tokens[key]);
    if (name == "error")
      error = bounded(string_of(*tape, v, scratch));
    else if (name == "error_type")
      error_type = bounded(string_of(*tape, v, scratch));
    return true;
  });
  if (error) return error;
  return error_type;
}

bool jmx_exporter_skips(const ObjectName& bean, const BeanLeaf& leaf) {
  const auto single = [&bean](std::string_view domain, std::string_view type) {
    return bean.domain == domain && bean.properties.size() == 1 &&
           bean.properties[0].first == "type" && bean.properties[0].second == type;
  };
  if (single("jdk.management.jfr", "FlightRecorder")) return true;
  if (!single("java.lang", "Runtime")) return false;
  std::string_view attribute =
      leaf.attr_keys.empty() ? leaf.attr_name : std::string_view(leaf.attr_keys.front());
  for (std::string_view skipped :
       {"SystemProperties", "ClassPath", "BootClassPath", "LibraryPath"}) {
    if (equals_ignore_case(attribute, skipped)) return true;
  }
  return false;
}

Result<std::vector<ElementOutcome>> walk_bulk_reply(std::string_view body,
                                                    const std::vector<PlannedRead>& reads,
                                                    const BeanFilter& filter,
                                                    const LeafCallback& on_leaf) {
  auto parsed = parse_tape(body);
  if (!parsed) return parsed.error();
  const Tape& tape = *parsed;
  const Token& root = tape.tokens[0];
  if (root.tag == Tag::kObject) {
    if (auto text = agent_error_text(body)) {
      return Error{ErrorKind::kProtocol, "", "the agent rejected the bulk request: " + *text};
    }
  }
  if (root.tag != Tag::kArray) return Error{ErrorKind::kProtocol, "", "reply is not a JSON array"};
  std::vector<std::uint32_t> elements;
  elements.reserve(reads.size());
  for_each_element(tape, 0, [&](std::uint32_t i) { elements.push_back(i); });
  if (elements.size() != reads.size()) {
    return Error{ErrorKind::kProtocol, "",
                 "reply has " + std::to_string(elements.size()) + " elements for " +
                     std::to_string(reads.size()) + " reads"};
  }
  std::vector<ElementOutcome> outcomes;
  outcomes.reserve(reads.size());
  Walker walker(tape, filter, on_leaf);
  for (std::size_t r = 0; r < reads.size(); ++r)
    outcomes.push_back(walker.walk_element(elements[r], reads[r]));
  return outcomes;
}

}  // namespace khe::jmx
