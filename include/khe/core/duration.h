// Parsing of Prometheus-style durations ("500ms", "30s", "2m", "1h", "1m30s").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace khe {

// Returns nullopt for anything that is not a positive-or-zero duration in that syntax.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

std::string format_duration(std::chrono::milliseconds d);

}  // namespace khe
