#include "khe/metrics/text_format.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <limits>

namespace khe {
namespace {

std::string gunzip(const std::string& data) {
  z_stream s{};
  inflateInit2(&s, 15 + 32);
  std::string out;
  char buf[4096];
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  // Multi-member streams: reset after each member's end, as Go's gzip reader does.
  while (s.avail_in > 0 || rc == Z_OK) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof(buf);
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - s.avail_out);
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0) break;
      inflateReset(&s);
      rc = Z_OK;
    } else if (rc != Z_OK) {
      break;
    }
  }
  inflateEnd(&s);
  return out;
}

TEST(RenderText, WritesHelpTypeAndSamples) {
  std::vector<Family> families(1);
  families[0] = Family{"kafka_consumergroup_group_lag", "Lag.", MetricType::kGauge,
                       {"group", "topic"}, {}};
  families[0].add({"g1", "t"}, 42);
  std::string out;
  render_text(families, out);
  EXPECT_EQ(out,
            "# HELP kafka_consumergroup_group_lag Lag.\n"
            "# TYPE kafka_consumergroup_group_lag gauge\n"
            "kafka_consumergroup_group_lag{group=\"g1\",topic=\"t\"} 42\n");
}

TEST(RenderText, EscapesLabelValuesAndHelp) {
  std::vector<Family> families(1);
  families[0] = Family{"m", "a\\b\nc \"q\"", MetricType::kCounter, {"l"}, {}};
  families[0].add({"x\"y\\z\nw"}, 1);
  std::string out;
  render_text(families, out);
  EXPECT_EQ(out,
            "# HELP m a\\\\b\\nc \"q\"\n# TYPE m counter\nm{l=\"x\\\"y\\\\z\\nw\"} 1\n");
}

TEST(RenderText, LeavesOutEmptyLabelValues) {
  std::vector<Family> families(1);
  families[0] = Family{"java_lang_memorypool_usage_used", "Pool.", MetricType::kUntyped, {"name", "key"}, {}};
  families[0].add({"G1 Eden Space", ""}, 1);
  families[0].add({"", "x"}, 2);
  families[0].add({"", ""}, 3);
  std::string out;
  render_text(families, out);
  EXPECT_EQ(out,
            "# HELP java_lang_memorypool_usage_used Pool.\n"
            "# TYPE java_lang_memorypool_usage_used untyped\n"
            "java_lang_memorypool_usage_used{name=\"G1 Eden Space\"} 1\n"
            "java_lang_memorypool_usage_used{key=\"x\"} 2\n"
            "java_lang_memorypool_usage_used 3\n");
}

TEST(RenderText, WritesSummarySuffixes) {
  std::vector<Family> families(1);
  families[0] = Family{"jvm_gc_collection_seconds", "GC.", MetricType::kSummary, {"gc"}, {}};
  families[0].add({"G1 Young Generation"}, SampleSuffix::kCount, 7);
  families[0].add({"G1 Young Generation"}, SampleSuffix::kSum, 0.25);
  std::string out;
  render_text(families, out);
  EXPECT_EQ(out,
            "# HELP jvm_gc_collection_seconds GC.\n"
            "# TYPE jvm_gc_collection_seconds summary\n"
            "jvm_gc_collection_seconds_count{gc=\"G1 Young Generation\"} 7\n"
            "jvm_gc_collection_seconds_sum{gc=\"G1 Young Generation\"} 0.25\n");
}

TEST(RenderText, LeavesOutEmptyFamilies) {
  std::vector<Family> families(1);
  families[0] = Family{"m", "h", MetricType::kGauge, {}, {}};
  std::string out;
  render_text(families, out);
  EXPECT_EQ(out, "");
}

TEST(AppendValue, FormatsSpecialAndLargeValues) {
  auto fmt = [](double v) {
    std::string s;
    append_value(v, s);
    return s;
  };
  EXPECT_EQ(fmt(std::nan("")), "NaN");
  EXPECT_EQ(fmt(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(fmt(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(fmt(1234567890123.0), "1234567890123");
  EXPECT_EQ(fmt(-1), "-1");
  EXPECT_EQ(fmt(0.25), "0.25");
  EXPECT_EQ(fmt(1e300), "1e+300");
}

TEST(GzipCompress, ConcatenatedMembersDecompressToConcatenatedText) {
  std::string a(10000, 'a'), b = "tail\n";
  std::string both = gzip_compress(a) + gzip_compress(b, 1);
  EXPECT_EQ(gunzip(both), a + b);
}

}  // namespace
}  // namespace khe
