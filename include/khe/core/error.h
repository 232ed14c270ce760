// Error values. Running code never throws across threads: a failed operation returns an Error,
// the collector turns it into a metric (`..._errors_total{kind}`) and one log line with context.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace khe {

enum class ErrorKind {
  kConfig,          // bad configuration (startup only)
  kConnect,         // could not reach the source at all
  kTimeout,         // the source did not answer before the deadline
  kMetadata,        // cluster metadata could not be read
  kWatermarks,      // earliest/latest offsets could not be read for some partitions
  kGroups,          // listing or describing consumer groups failed
  kOffsets,         // committed offsets of a group could not be read
  kAuth,            // authentication or authorization refused
  kProtocol,        // the source answered something we cannot parse
  kWorker,          // the isolated client process died or hung
  kNotWhitelisted,  // ZooKeeper refused a four-letter word missing from 4lw.commands.whitelist
  kEmptyReply,      // the connection closed without a reply (ZooKeeper's answer to an unknown word)
  kReplyTooLarge,   // the reply exceeded the configured size bound
  kProbeTopic,      // the probe topic could not be created, extended or assigned
  kInternal,        // a bug: should never be seen
};

std::string_view error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string target;   // what was talked to: a broker, a group, a file
  std::string message;  // why it failed, for humans; never contains secrets

  std::string to_string() const;
};

// A value or an Error. Deliberately small: what the code needs from std::expected (C++23).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  const T* operator->() const { return &*value_; }
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

}  // namespace khe
