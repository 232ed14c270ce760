#include "khe/metrics/text_format.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace khe {
namespace {

std::string_view suffix_text(SampleSuffix suffix) {
  switch (suffix) {
    case SampleSuffix::kNone: return "";
    case SampleSuffix::kCount: return "_count";
    case SampleSuffix::kSum: return "_sum";
    case SampleSuffix::kBucket: return "_bucket";
  }
  return "";
}

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kGauge: return "gauge";
    case MetricType::kCounter: return "counter";
    case MetricType::kUntyped: return "untyped";
    case MetricType::kSummary: return "summary";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void append_escaped(std::string_view text, bool is_label_value, std::string& out) {
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (is_label_value) out += "\\\"";
        else out += c;
        break;
      default: out += c;
    }
  }
}

}  // namespace

void append_value(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buffer[32];
  std::to_chars_result result;
  // Offsets are integers up to 2^63; doubles hold them exactly up to 2^53, which covers
  // every real offset. Printing them as integers keeps them readable and diffable.
  if (std::abs(value) < 9007199254740992.0 && value == std::floor(value)) {
    result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<long long>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  }
  out.append(buffer, result.ptr);
}

void render_text(const std::vector<Family>& families, std::string& out) {
  for (const auto& family : families) {
    if (family.samples.empty()) continue;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    append_escaped(family.help, false, out);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += type_name(family.type);
    out += '\n';
    for (const auto& sample : family.samples) {
      out += family.name;
      out += suffix_text(sample.suffix);
      // An empty label value is the same series as no label at all to Prometheus; leaving it
      // out lets one family hold samples with different label sets (jmx_exporter's rules
      // produce those) and keeps the text identical to what those exporters print.
      bool open = false;
      for (std::size_t i = 0; i < family.label_names.size(); ++i) {
        if (i >= sample.label_values.size() || sample.label_values[i].empty()) continue;
        out += open ? ',' : '{';
        open = true;
        out += family.label_names[i];
        out += "=\"";
        append_escaped(sample.label_values[i], true, out);
        out += '"';
      }
      if (open) out += '}';
      out += ' ';
      append_value(sample.value, out);
      out += '\n';
    }
  }
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream stream{};
  // windowBits 15 + 16 selects the gzip wrapper.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out;
  out.resize(deflateBound(&stream, data.size()) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) return {};
  return out;
}

}  // namespace khe
