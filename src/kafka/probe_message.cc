#include "khe/kafka/probe_message.h"

namespace khe {
namespace {

constexpr std::string_view kMagic = "KHEPROBE";

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return v;
}

}  // namespace

std::string encode_probe_message(const ProbeMessage& message, std::size_t size) {
  std::string out(kMagic);
  put_u64(out, message.id.run);
  put_u64(out, message.id.seq);
  put_u64(out, static_cast<std::uint64_t>(message.sent_ns));
  // Readable filler rather than zeros: compresses like real text payloads do, no more.
  for (std::size_t i = out.size(); i < size; ++i) out.push_back(static_cast<char>('a' + i % 26));
  return out;
}

std::optional<ProbeMessage> decode_probe_message(std::string_view value) {
  if (value.size() < kProbeHeaderBytes || value.substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  ProbeMessage m;
  m.id.run = get_u64(value, 8);
  m.id.seq = get_u64(value, 16);
  m.sent_ns = static_cast<std::int64_t>(get_u64(value, 24));
  if (m.sent_ns <= 0) return std::nullopt;
  return m;
}

}  // namespace khe
