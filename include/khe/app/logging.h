// Process-wide logging setup: spdlog to stderr in logfmt or JSON, UTC timestamps.
#pragma once

#include "khe/config/config.h"

namespace khe {

void setup_logging(const LogOptions& options);

}  // namespace khe
