// The exporter's own metrics (prefix kafka_hub_exporter_), kept in a prometheus-cpp registry, plus
// the standard process_* series read from /proc. Rendered per scrape: a few dozen series, so
// the cost is microseconds. Thread-safe (prometheus-cpp metrics are atomic; families lock
// internally).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "khe/core/error.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Gauge;
class Counter;
}  // namespace prometheus

namespace khe {

struct CollectionOutcome {
  std::string collector;
  bool ok = false;  // false: nothing usable was collected
  std::chrono::duration<double> duration{};
  std::chrono::system_clock::time_point finished_at{};
  std::vector<Error> errors;  // on success these are partial failures
  std::size_t series = 0;
};

class SelfMetrics {
 public:
  // `versions` become labels of kafka_hub_exporter_build_info, e.g. {"librdkafka", "2.0.2"}.
  explicit SelfMetrics(std::vector<std::pair<std::string, std::string>> versions);
  ~SelfMetrics();
  SelfMetrics(const SelfMetrics&) = delete;
  SelfMetrics& operator=(const SelfMetrics&) = delete;

  void register_collector(const std::string& collector);
  void record(const CollectionOutcome& outcome);
  // The published data of a collector was dropped for being too old.
  void mark_stale_dropped(const std::string& collector);
  void count_scrape(std::string_view encoding);

  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>* up_;
  prometheus::Family<prometheus::Gauge>* last_success_;
  prometheus::Family<prometheus::Gauge>* last_duration_;
  prometheus::Family<prometheus::Gauge>* series_;
  prometheus::Family<prometheus::Counter>* collections_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Family<prometheus::Counter>* scrapes_;
  std::chrono::system_clock::time_point start_time_;
};

}  // namespace khe
