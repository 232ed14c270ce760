// Prometheus text exposition format 0.0.4: rendering of Family values, and gzip of the result.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "khe/core/metric_family.h"

namespace khe {

// Appends the families to `out`. Families without samples are left out.
void render_text(const std::vector<Family>& families, std::string& out);

// One gzip member. Concatenated members form a valid gzip stream (RFC 1952 section 2.2),
// which lets the store pre-compress each part once and a scrape only append bytes.
std::string gzip_compress(std::string_view data, int level = 6);

// Formats a sample value the way Prometheus parses it back: integers exactly, NaN, +Inf, -Inf.
void append_value(double value, std::string& out);

}  // namespace khe
