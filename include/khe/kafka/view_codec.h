// Binary encoding of a GatheredView, for the pipe between the Kafka worker process and the
// exporter. The decoder treats its input as untrusted (a worker can die mid-write): every
// length is bounds-checked and a malformed or truncated message is an Error, never a crash.
#pragma once

#include <string>
#include <string_view>

#include "khe/kafka/cluster_view_source.h"
#include "khe/kafka/wire.h"  // encode_error() for a poll that failed as a whole

namespace khe {

std::string encode_view(const GatheredView& gathered);
Result<GatheredView> decode_view(std::string_view bytes);

}  // namespace khe
