#include "khe/metrics/self_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "khe/metrics/text_format.h"

namespace khe {
namespace {

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// process_* as client libraries export them; from /proc so it costs one small read each.
void append_process_metrics(std::chrono::system_clock::time_point start_time, std::string& out) {
  FamilySet set;
  std::ifstream stat("/proc/self/stat");
  std::string stat_line;
  std::getline(stat, stat_line);
  // Fields after the command name, which is in parentheses and may contain spaces.
  auto close = stat_line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat_line.substr(close + 2));
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) f.push_back(field);
    // f[0] is field 3 (state); utime is field 14, stime 15, rss 24.
    if (f.size() > 21) {
      double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      set.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                 MetricType::kCounter, {})
          .add({}, cpu);
      double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
      set.family("process_resident_memory_bytes", "Resident memory size in bytes.",
                 MetricType::kGauge, {})
          .add({}, rss);
      set.family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                 MetricType::kGauge, {})
          .add({}, std::stod(f[20]));
    }
  }
  std::error_code ec;
  std::size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  set.family("process_open_fds", "Number of open file descriptors.", MetricType::kGauge, {})
      .add({}, static_cast<double>(fds));
  set.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             MetricType::kGauge, {})
      .add({}, seconds_since_epoch(start_time));
  render_text(std::move(set).take(), out);
}

}  // namespace

SelfMetrics::SelfMetrics(std::vector<std::pair<std::string, std::string>> versions)
    : registry_(std::make_shared<prometheus::Registry>()),
      start_time_(std::chrono::system_clock::now()) {
  prometheus::Labels build_labels{{"version", KHE_VERSION}, {"revision", KHE_REVISION}};
  for (auto& [name, value] : versions) build_labels[name + "_version"] = value;
  prometheus::BuildGauge()
      .Name("kafka_hub_exporter_build_info")
      .Help("Build information of kafka-hub-exporter; always 1.")
      .Register(*registry_)
      .Add(build_labels)
      .Set(1);
  up_ = &prometheus::BuildGauge()
             .Name("kafka_hub_exporter_collector_up")
             .Help("1 if the collector's last collection succeeded, 0 if it failed.")
             .Register(*registry_);
  last_success_ = &prometheus::BuildGauge()
                       .Name("kafka_hub_exporter_collector_last_success_timestamp_seconds")
                       .Help("Unix time of the collector's last successful collection.")
                       .Register(*registry_);
  last_duration_ = &prometheus::BuildGauge()
                        .Name("kafka_hub_exporter_collector_last_duration_seconds")
                        .Help("Wall time the collector's last collection took.")
                        .Register(*registry_);
  series_ = &prometheus::BuildGauge()
                 .Name("kafka_hub_exporter_collector_series")
                 .Help("Number of series the collector currently publishes.")
                 .Register(*registry_);
  collections_ = &prometheus::BuildCounter()
                      .Name("kafka_hub_exporter_collections_total")
                      .Help("Collections run, by collector and result (success or failure).")
                      .Register(*registry_);
  errors_ = &prometheus::BuildCounter()
                 .Name("kafka_hub_exporter_collector_errors_total")
                 .Help("Errors met while collecting, by collector and kind.")
                 .Register(*registry_);
  scrapes_ = &prometheus::BuildCounter()
                  .Name("kafka_hub_exporter_scrape_requests_total")
                  .Help("Requests to the metrics endpoint, by response encoding.")
                  .Register(*registry_);
}

SelfMetrics::~SelfMetrics() = default;

void SelfMetrics::register_collector(const std::string& collector) {
  up_->Add({{"collector", collector}}).Set(0);
  last_success_->Add({{"collector", collector}});
  last_duration_->Add({{"collector", collector}});
  series_->Add({{"collector", collector}});
  collections_->Add({{"collector", collector}, {"result", "success"}});
  collections_->Add({{"collector", collector}, {"result", "failure"}});
}

void SelfMetrics::record(const CollectionOutcome& outcome) {
  const auto& c = outcome.collector;
  up_->Add({{"collector", c}}).Set(outcome.ok ? 1 : 0);
  last_duration_->Add({{"collector", c}}).Set(outcome.duration.count());
  collections_->Add({{"collector", c}, {"result", outcome.ok ? "success" : "failure"}}).Increment();
  if (outcome.ok) {
    last_success_->Add({{"collector", c}}).Set(seconds_since_epoch(outcome.finished_at));
    series_->Add({{"collector", c}}).Set(static_cast<double>(outcome.series));
  }
  for (const auto& error : outcome.errors) {
    errors_->Add({{"collector", c}, {"kind", std::string(error_kind_name(error.kind))}})
        .Increment();
  }
}

void SelfMetrics::mark_stale_dropped(const std::string& collector) {
  series_->Add({{"collector", collector}}).Set(0);
}

void SelfMetrics::count_scrape(std::string_view encoding) {
  scrapes_->Add({{"encoding", std::string(encoding)}}).Increment();
}

std::string SelfMetrics::render() const {
  std::string out = prometheus::TextSerializer().Serialize(registry_->Collect());
  append_process_metrics(start_time_, out);
  return out;
}

}  // namespace khe
