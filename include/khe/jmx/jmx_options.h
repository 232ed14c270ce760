// Settings of the JMX bridge (Jolokia + jmx_exporter rules), as validated by the config loader.
// The rules file is only named here; it is loaded (and its errors reported, exit 2) when the
// collector is built, so the config module does not depend on the rules engine.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "khe/jmx/jolokia_client.h"

namespace khe {

struct JmxOptions {
  std::vector<jmx::JolokiaTarget> targets;
  std::string rules_file;  // jmx_exporter rules YAML; empty: JVM series only
  jmx::CounterNaming counter_naming = jmx::CounterNaming::kJmxExporter020;
  // JVM series like jmx_exporter's javaagent adds (jvm_memory_bytes_used, jvm_gc_collection_seconds,
  // ...), built from the java.lang MBeans read in the same bulk request.
  bool jvm_metrics = true;
  std::chrono::milliseconds poll_interval{15'000};
  std::chrono::milliseconds poll_timeout{10'000};  // deadline of one collection, < poll_interval
};

}  // namespace khe
