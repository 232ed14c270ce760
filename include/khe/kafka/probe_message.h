// The value of a probe message: a magic, the message's id and its send time, padded to the
// configured size. Pure functions; the decoder reads untrusted bytes (anything can be written
// to the probe topic) and returns nullopt for anything that is not a probe message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "khe/kafka/probe_report.h"

namespace khe {

// Magic (8 bytes), run, seq, send time (8 bytes each, little-endian).
inline constexpr std::size_t kProbeHeaderBytes = 32;

struct ProbeMessage {
  ProbeMessageId id;
  std::int64_t sent_ns = 0;
};

// At least kProbeHeaderBytes long: `size` below that gives the bare header.
std::string encode_probe_message(const ProbeMessage& message, std::size_t size);
std::optional<ProbeMessage> decode_probe_message(std::string_view value);

}  // namespace khe
