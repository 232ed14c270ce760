#include "khe/jmx/jmx_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <set>

#include "khe/jmx/jvm_families.h"

namespace khe {

using Clock = std::chrono::steady_clock;

std::vector<jmx::PlannedRead> merge_reads(std::vector<jmx::PlannedRead> plan, bool with_jvm) {
  std::vector<jmx::PlannedRead> merged;
  auto add = [&merged](const jmx::PlannedRead& read) {
    for (auto& existing : merged) {
      if (existing.mbean != read.mbean) continue;
      if (existing.attributes.empty() || read.attributes.empty()) {
        existing.attributes.clear();  // empty means every attribute
      } else {
        for (const auto& a : read.attributes) {
          if (std::find(existing.attributes.begin(), existing.attributes.end(), a) ==
              existing.attributes.end()) {
            existing.attributes.push_back(a);
          }
        }
      }
      return;
    }
    merged.push_back(read);
  };
  for (const auto& read : plan) add(read);
  if (with_jvm) {
    for (const auto& read : jmx::jvm_reads()) {
      auto domain = read.mbean.substr(0, read.mbean.find(':'));
      bool covered = std::any_of(plan.begin(), plan.end(), [&](const jmx::PlannedRead& p) {
        return p.attributes.empty() && (p.mbean == "*:*" || p.mbean == domain + ":*");
      });
      if (!covered) add(read);
    }
  }
  return merged;
}

JmxCollector::JmxCollector(JmxOptions options, std::shared_ptr<const jmx::JmxRules> rules,
                           std::vector<std::unique_ptr<jmx::JolokiaTransport>> transports)
    : options_(std::move(options)), rules_(std::move(rules)), transports_(std::move(transports)) {
  reads_ =
      merge_reads(rules_ ? rules_->plan() : std::vector<jmx::PlannedRead>{}, options_.jvm_metrics);
  request_body_ = jmx::build_bulk_request(reads_);
}

Result<std::unique_ptr<JmxCollector>> JmxCollector::create(JmxOptions options) {
  std::shared_ptr<const jmx::JmxRules> rules;
  if (!options.rules_file.empty()) {
    auto loaded = jmx::JmxRules::load_file(options.rules_file, options.counter_naming);
    if (!loaded) return loaded.error();
    for (const auto& key : loaded->ignored_keys()) {
      spdlog::info("jmx rules {}: key '{}' has no meaning for a Jolokia bridge; ignored",
                   options.rules_file, key);
    }
    rules = std::make_shared<const jmx::JmxRules>(std::move(loaded).value());
  }
  std::vector<std::unique_ptr<jmx::JolokiaTransport>> transports;
  for (const auto& target : options.targets)
    transports.push_back(jmx::make_http_jolokia_transport(target));
  return std::make_unique<JmxCollector>(std::move(options), std::move(rules),
                                        std::move(transports));
}

namespace {

struct TargetReport {
  bool up = false;
  double seconds = 0;
  std::size_t reply_bytes = 0;
  std::size_t samples = 0;
  std::size_t ignored_attributes = 0;
};

}  // namespace

Result<Collection> JmxCollector::collect(Clock::time_point deadline) {
  // The agents work in parallel; the walks below are CPU only and run one after another.
  std::vector<std::future<Result<std::string>>> replies;
  std::vector<Clock::time_point> started(transports_.size());
  std::vector<double> seconds(transports_.size());
  for (std::size_t i = 0; i < transports_.size(); ++i) {
    replies.push_back(std::async(std::launch::async, [this, i, deadline, &started, &seconds] {
      started[i] = Clock::now();
      auto reply = transports_[i]->post(request_body_, deadline);
      seconds[i] = std::chrono::duration<double>(Clock::now() - started[i]).count();
      return reply;
    }));
  }

  Collection out;
  jmx::FamilyBuilder builder;
  std::vector<TargetReport> reports(transports_.size());
  for (std::size_t i = 0; i < transports_.size(); ++i) {
    const auto& target = options_.targets[i];
    const std::string& who = target.broker.empty() ? target.url : target.broker;
    auto reply = replies[i].get();
    auto& report = reports[i];
    report.seconds = seconds[i];
    if (!reply) {
      Error e = reply.error();
      e.target = who;
      out.errors.push_back(std::move(e));
      continue;
    }
    report.reply_bytes = reply->size();
    if (target.broker.empty())
      builder.set_constant_labels({});
    else
      builder.set_constant_labels({{"broker", target.broker}});

    std::size_t before = builder.sample_count();
    jmx::JvmObservation jvm;
    bool rules_wanted = false, jvm_wanted = false;
    const jmx::ObjectName* bean = nullptr;
    auto filter = [&](const jmx::ObjectName& name) {
      rules_wanted = rules_ && rules_->includes(name);
      jvm_wanted = options_.jvm_metrics && jmx::is_jvm_bean(name);
      bean = &name;
      return rules_wanted || jvm_wanted;
    };
    auto on_leaf = [&](const jmx::BeanLeaf& leaf) {
      // jmx_exporter never reads some leaves (Runtime's SystemProperties, ...) that the JVM
      // series still need.
      if (rules_wanted && !jmx::jmx_exporter_skips(*bean, leaf)) rules_->apply(leaf, builder);
      if (jvm_wanted) jvm.observe(*bean, leaf);
    };
    auto outcomes = jmx::walk_bulk_reply(*reply, reads_, filter, on_leaf);
    if (!outcomes) {
      // walk_bulk_reply hands out no leaf from a reply it rejects as a whole.
      Error e = outcomes.error();
      e.target = who;
      out.errors.push_back(std::move(e));
      continue;
    }
    for (std::size_t r = 0; r < outcomes->size(); ++r) {
      const auto& outcome = (*outcomes)[r];
      report.ignored_attributes += outcome.ignored_attributes;
      if (outcome.error) {
        Error e = *outcome.error;
        e.target = who;
        e.message = reads_[r].mbean + ": " + e.message;
        out.errors.push_back(std::move(e));
      }
    }
    jvm.emit(builder);
    report.up = true;
    report.samples = builder.sample_count() - before;
  }
  builder.set_constant_labels({});
  out.families = std::move(builder).take();

  FamilySet self;
  std::vector<std::string> label{"broker"};
  auto& up = self.family("kafka_hub_exporter_jmx_target_up",
                         "1 if the target's Jolokia agent answered the last bulk read, else 0.",
                         MetricType::kGauge, label);
  auto& duration = self.family("kafka_hub_exporter_jmx_target_read_duration_seconds",
                               "Time the target's agent took to answer the last bulk read.",
                               MetricType::kGauge, label);
  auto& bytes = self.family("kafka_hub_exporter_jmx_target_reply_bytes",
                            "Size of the target's last bulk reply.", MetricType::kGauge, label);
  auto& samples = self.family("kafka_hub_exporter_jmx_target_samples",
                              "Samples the rules and JVM series made of the target's last reply.",
                              MetricType::kGauge, label);
  auto& ignored =
      self.family("kafka_hub_exporter_jmx_target_ignored_attributes",
                  "Attributes the agent could not read in the last bulk read (ignoreErrors).",
                  MetricType::kGauge, label);
  auto& reads =
      self.family("kafka_hub_exporter_jmx_planned_reads",
                  "MBean pattern reads in each bulk request (rules' plan plus JVM reads).",
                  MetricType::kGauge, {});
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& target = options_.targets[i];
    std::string broker = target.broker.empty() ? "" : target.broker;
    up.add({broker}, reports[i].up ? 1 : 0);
    duration.add({broker}, reports[i].seconds);
    if (reports[i].up) {
      bytes.add({broker}, static_cast<double>(reports[i].reply_bytes));
      samples.add({broker}, static_cast<double>(reports[i].samples));
      ignored.add({broker}, static_cast<double>(reports[i].ignored_attributes));
    }
  }
  reads.add({}, static_cast<double>(reads_.size()));
  for (auto& f : std::move(self).take()) out.families.push_back(std::move(f));
  return out;
}

}  // namespace khe
