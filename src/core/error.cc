#include "khe/core/error.h"

namespace khe {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConfig:
      return "config";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kMetadata:
      return "metadata";
    case ErrorKind::kWatermarks:
      return "watermarks";
    case ErrorKind::kGroups:
      return "groups";
    case ErrorKind::kOffsets:
      return "offsets";
    case ErrorKind::kAuth:
      return "auth";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kWorker:
      return "worker";
    case ErrorKind::kNotWhitelisted:
      return "not_whitelisted";
    case ErrorKind::kEmptyReply:
      return "empty_reply";
    case ErrorKind::kReplyTooLarge:
      return "reply_too_large";
    case ErrorKind::kProbeTopic:
      return "probe_topic";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  std::string out(error_kind_name(kind));
  if (!target.empty()) out += " [" + target + "]";
  out += ": " + message;
  return out;
}

}  // namespace khe
