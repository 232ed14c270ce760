// JmxCollector: the JMX bridge. One collection sends the same Jolokia bulk request (the rules'
// plan merged with the JVM reads, built once) to every target in parallel, then walks each
// reply through jmx_exporter's rules and the JVM series into one set of families, each series
// labelled with its target's broker (when the target has one).
//
// A collection always succeeds: a target that fails (refused, timed out, 401, garbage) is
// `kafka_hub_exporter_jmx_target_up{broker} 0` and its series are gone until it answers again,
// while the other targets keep reporting. Its error is returned in Collection::errors (counted
// by kind, logged). Not thread-safe; run by one CollectorRunner.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "khe/core/collector.h"
#include "khe/jmx/jmx_options.h"
#include "khe/jmx/jmx_rules.h"
#include "khe/jmx/jolokia_client.h"

namespace khe {

class JmxCollector final : public Collector {
 public:
  // One transport per target, same order as options.targets.
  JmxCollector(JmxOptions options, std::shared_ptr<const jmx::JmxRules> rules,
               std::vector<std::unique_ptr<jmx::JolokiaTransport>> transports);
  // The real thing: loads options.rules_file (kConfig error naming file:line) and makes HTTP
  // transports.
  static Result<std::unique_ptr<JmxCollector>> create(JmxOptions options);
  JmxCollector(const JmxCollector&) = delete;
  JmxCollector& operator=(const JmxCollector&) = delete;

  const std::string& name() const override { return name_; }
  std::chrono::milliseconds interval() const override { return options_.poll_interval; }
  std::chrono::milliseconds timeout() const override { return options_.poll_timeout; }
  Result<Collection> collect(std::chrono::steady_clock::time_point deadline) override;

  // What every collection asks each agent for.
  const std::vector<jmx::PlannedRead>& reads() const { return reads_; }

 private:
  std::string name_ = "jmx";
  JmxOptions options_;
  std::shared_ptr<const jmx::JmxRules> rules_;  // null: JVM series only
  std::vector<std::unique_ptr<jmx::JolokiaTransport>> transports_;
  std::vector<jmx::PlannedRead> reads_;
  std::string request_body_;
};

// The rules' plan plus the JVM reads (when wanted), one read per MBean pattern, attributes
// merged; a JVM read already covered by an all-attribute read of its domain is dropped.
std::vector<jmx::PlannedRead> merge_reads(std::vector<jmx::PlannedRead> plan, bool with_jvm);

}  // namespace khe
