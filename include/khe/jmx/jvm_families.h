// The JVM series jmx_exporter's javaagent adds to every scrape (simpleclient_hotspot 0.16, as
// bundled with jmx_exporter 0.20): jvm_memory_*, jvm_memory_pool_*, jvm_buffer_pool_*,
// jvm_gc_collection_seconds, jvm_threads_*, jvm_classes_*, jvm_info. The agent reads them from
// the platform MXBeans in-process; here they come from the same java.lang / java.nio MBeans
// through Jolokia, read in the same bulk request as the rules' beans.
//
// One deliberate difference: the agent's process_* series describe the broker's JVM, but in
// this exporter's /metrics process_* describe the exporter itself, so the broker's appear as
// jvm_process_* (cpu_seconds_total, open_fds, max_fds, start_time_seconds,
// virtual_memory_bytes). Not available over JMX, so not exported: jvm_threads_state,
// jvm_threads_deadlocked*, jvm_memory_pool_allocated_bytes_total (they need thread dumps or GC
// notifications), process_resident_memory_bytes.
//
// One JvmObservation per target and collection; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "khe/jmx/bean_leaf.h"
#include "khe/jmx/jmx_rules.h"

namespace khe::jmx {

// The reads that feed the JVM series.
const std::vector<PlannedRead>& jvm_reads();
// True for beans the JVM series are built from (java.lang and java.nio domains).
bool is_jvm_bean(const ObjectName& name);

class JvmObservation {
 public:
  // Takes note of one leaf of a bean for which is_jvm_bean() was true; ignores the rest.
  void observe(const ObjectName& bean, const BeanLeaf& leaf);
  // Adds the series to `out` (nothing for what was not seen).
  void emit(FamilyBuilder& out) const;

 private:
  struct Usage {
    std::optional<double> used, committed, max, init;
  };
  std::map<std::string, Usage> area_;              // heap, nonheap
  std::map<std::string, Usage> pool_;              // memory pool name
  std::map<std::string, Usage> pool_collection_;   // CollectionUsage of a pool
  struct BufferPool {
    std::optional<double> used_bytes, capacity_bytes, buffers;
  };
  std::map<std::string, BufferPool> buffer_pool_;
  struct Gc {
    std::optional<double> count, time_ms;
  };
  std::map<std::string, Gc> gc_;
  // Single values by their series name (jvm_threads_current, jvm_process_open_fds, ...).
  std::map<std::string, double> scalars_;
  std::map<std::string, std::string> info_;  // runtime, vendor, version
};

}  // namespace khe::jmx
