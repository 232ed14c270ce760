// The data a collector produces: families of samples, in a compact form (label names once per
// family, label values per sample) so that 100k-series snapshots stay small while being built.
// Plain values; not synchronized (a Snapshot is immutable once published).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include "khe/core/error.h"

namespace khe {

// Summaries and histograms are families whose samples carry a suffix (_count, _sum, _bucket);
// the bucket bound is an ordinary label named "le" (or "quantile" for summaries).
enum class MetricType { kGauge, kCounter, kUntyped, kSummary, kHistogram };

enum class SampleSuffix : unsigned char { kNone, kCount, kSum, kBucket };

struct Sample {
  std::vector<std::string> label_values;  // same order as Family::label_names
  double value = 0;
  SampleSuffix suffix = SampleSuffix::kNone;  // fits in the padding after value
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<Sample> samples;

  void add(std::vector<std::string> label_values, double value) {
    samples.push_back(Sample{std::move(label_values), value, SampleSuffix::kNone});
  }
  void add(std::vector<std::string> label_values, SampleSuffix suffix, double value) {
    samples.push_back(Sample{std::move(label_values), value, suffix});
  }
};

// Keeps families in creation order and hands out references that stay valid while building.
class FamilySet {
 public:
  Family& family(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names);
  std::vector<Family> take() &&;
  std::size_t sample_count() const;

 private:
  std::deque<Family> families_;  // deque: references survive later insertions
};

// What one collection produced. Immutable once handed to the store.
struct Snapshot {
  std::string source;  // collector name, e.g. "kafka"
  std::vector<Family> families;
  std::vector<Error> errors;  // partial failures: data is still valid
  std::chrono::system_clock::time_point collected_at{};
  std::chrono::duration<double> duration{};
};

}  // namespace khe
