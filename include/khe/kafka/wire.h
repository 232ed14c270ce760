// The binary encoding between worker processes and the exporter (worker_process.h): a Writer
// and a Reader of fixed-width integers and length-prefixed strings. Both ends are the same
// binary on the same machine, so integers are written in native byte order.
//
// The Reader treats its input as untrusted (a worker can die mid-write or be a stand-in): every
// length is bounds-checked and a count can never promise more elements than the remaining bytes
// could hold. Decoders catch wire::Malformed at their boundary and return an Error; it never
// leaves a decoder. Plain values; not synchronized.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "khe/core/error.h"

namespace khe {
namespace wire {

class Writer {
 public:
  void raw(std::string_view s) { out_ += s; }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void i64(std::int64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);  // both ends are the same binary on the same machine
    out_.append(b, 8);
  }
  void i32(std::int32_t v) { i64(v); }
  void count(std::size_t n) { i64(static_cast<std::int64_t>(n)); }
  void str(std::string_view s) {
    count(s.size());
    out_ += s;
  }
  void error(const Error& e) {
    u8(static_cast<std::uint8_t>(e.kind));
    str(e.target);
    str(e.message);
  }
  std::string take() && { return std::move(out_); }

 private:
  std::string out_;
};

// Thrown by Reader on bad input; caught by the decoder that created the Reader.
struct Malformed {
  std::size_t at;
};

// The decoder's Error for `m`: kProtocol, naming what was being decoded ("malformed or truncated
// answer"), its size and where it went wrong.
Error malformed_error(std::string target, std::string_view what, std::size_t size,
                      const Malformed& m);

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  void expect(std::string_view magic) {
    need(magic.size());
    if (in_.substr(pos_, magic.size()) != magic) throw Malformed{pos_};
    pos_ += magic.size();
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::int64_t i64() {
    need(8);
    std::int64_t v;
    std::memcpy(&v, in_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::int32_t i32() {
    auto v = i64();
    if (v < INT32_MIN || v > INT32_MAX) throw Malformed{pos_};
    return static_cast<std::int32_t>(v);
  }
  // Each element takes at least `min_element_bytes`, so a count can never promise more
  // elements than the remaining bytes could hold (no huge allocation from a corrupt count).
  std::size_t count(std::size_t min_element_bytes = 1) {
    auto v = i64();
    if (v < 0 || static_cast<std::size_t>(v) * min_element_bytes > in_.size() - pos_) {
      throw Malformed{pos_};
    }
    return static_cast<std::size_t>(v);
  }
  std::string str() {
    auto n = count();
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  Error error() {
    auto kind = u8();
    if (kind > static_cast<std::uint8_t>(ErrorKind::kInternal)) throw Malformed{pos_};
    Error e;
    e.kind = static_cast<ErrorKind>(kind);
    e.target = str();
    e.message = str();
    return e;
  }
  bool done() const { return pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }

 private:
  void need(std::size_t n) {
    if (in_.size() - pos_ < n) throw Malformed{pos_};
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace wire

// A worker's answer when its work failed as a whole.
std::string encode_error(const Error& error);
// If `bytes` is an answer made by encode_error(), the Error it holds (a kProtocol Error naming
// `worker` if it is malformed); nullopt for any other answer.
std::optional<Error> decode_error_answer(std::string_view bytes, const std::string& worker);

}  // namespace khe
