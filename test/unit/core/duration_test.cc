#include "khe/core/duration.h"

#include <gtest/gtest.h>

namespace khe {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsPrometheusStyleUnits) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("1m30s"), milliseconds(90'000));
}

TEST(ParseDuration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "30", "s", "-5s", "1.5s", "5 s", "5d", "10sec", "99999999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"500ms", "30s", "2m", "1h"}) {
    EXPECT_EQ(format_duration(*parse_duration(text)), text);
  }
}

}  // namespace
}  // namespace khe
