// Binary encoding of a ProbeReport, for the pipe between the probe worker and the exporter
// (wire.h). The decoder treats its input as untrusted: a malformed or truncated report is an
// Error (kProtocol), never a crash; an answer made by encode_error() decodes to that Error.
#pragma once

#include <string>
#include <string_view>

#include "khe/core/error.h"
#include "khe/kafka/probe_report.h"

namespace khe {

std::string encode_probe_report(const ProbeReport& report);
Result<ProbeReport> decode_probe_report(std::string_view bytes);

}  // namespace khe
