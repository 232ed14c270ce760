#include "khe/jmx/jvm_families.h"

#include <cmath>

namespace khe::jmx {
namespace {

const std::string* property(const ObjectName& bean, std::string_view key) {
  for (const auto& [k, v] : bean.properties) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<double> number_of(const LeafValue& value) {
  if (value.kind == LeafValue::Kind::kNumber || value.kind == LeafValue::Kind::kBoolean) {
    return value.number;
  }
  return std::nullopt;
}

template <typename Usage>
void set_usage_field(std::string_view field, double value, Usage& usage) {
  if (field == "used")
    usage.used = value;
  else if (field == "committed")
    usage.committed = value;
  else if (field == "max")
    usage.max = value;
  else if (field == "init")
    usage.init = value;
}

// attribute name of the Threading / ClassLoading / OperatingSystem / Runtime beans -> series
struct ScalarSeries {
  std::string_view type;
  std::string_view attribute;
  std::string_view series;
  double factor;
};
constexpr ScalarSeries kScalars[] = {
    {"Memory", "ObjectPendingFinalizationCount", "jvm_memory_objects_pending_finalization", 1},
    {"Threading", "ThreadCount", "jvm_threads_current", 1},
    {"Threading", "DaemonThreadCount", "jvm_threads_daemon", 1},
    {"Threading", "PeakThreadCount", "jvm_threads_peak", 1},
    {"Threading", "TotalStartedThreadCount", "jvm_threads_started_total", 1},
    {"ClassLoading", "LoadedClassCount", "jvm_classes_currently_loaded", 1},
    {"ClassLoading", "TotalLoadedClassCount", "jvm_classes_loaded_total", 1},
    {"ClassLoading", "UnloadedClassCount", "jvm_classes_unloaded_total", 1},
    {"OperatingSystem", "ProcessCpuTime", "jvm_process_cpu_seconds_total", 1e-9},
    {"OperatingSystem", "OpenFileDescriptorCount", "jvm_process_open_fds", 1},
    {"OperatingSystem", "MaxFileDescriptorCount", "jvm_process_max_fds", 1},
    {"OperatingSystem", "CommittedVirtualMemorySize", "jvm_process_virtual_memory_bytes", 1},
    {"Runtime", "StartTime", "jvm_process_start_time_seconds", 1e-3},
};

struct ScalarHelp {
  std::string_view series;
  MetricType type;
  std::string_view help;
};
constexpr ScalarHelp kScalarHelp[] = {
    {"jvm_memory_objects_pending_finalization", MetricType::kGauge,
     "The number of objects waiting in the finalizer queue."},
    {"jvm_threads_current", MetricType::kGauge, "Current thread count of a JVM"},
    {"jvm_threads_daemon", MetricType::kGauge, "Daemon thread count of a JVM"},
    {"jvm_threads_peak", MetricType::kGauge, "Peak thread count of a JVM"},
    {"jvm_threads_started_total", MetricType::kCounter, "Started thread count of a JVM"},
    {"jvm_classes_currently_loaded", MetricType::kGauge,
     "The number of classes that are currently loaded in the JVM"},
    {"jvm_classes_loaded_total", MetricType::kCounter,
     "The total number of classes that have been loaded since the JVM has started execution"},
    {"jvm_classes_unloaded_total", MetricType::kCounter,
     "The total number of classes that have been unloaded since the JVM has started execution"},
    {"jvm_process_cpu_seconds_total", MetricType::kCounter,
     "Total user and system CPU time of the broker's JVM in seconds."},
    {"jvm_process_open_fds", MetricType::kGauge,
     "Number of open file descriptors of the broker's JVM."},
    {"jvm_process_max_fds", MetricType::kGauge,
     "Maximum number of open file descriptors of the broker's JVM."},
    {"jvm_process_virtual_memory_bytes", MetricType::kGauge,
     "Virtual memory size of the broker's JVM in bytes."},
    {"jvm_process_start_time_seconds", MetricType::kGauge,
     "Start time of the broker's JVM since unix epoch in seconds."},
};

template <typename Usage>
void emit_usage(const std::map<std::string, Usage>& by_name, std::string_view prefix,
                std::string_view suffix, std::string_view label, std::string_view what,
                FamilyBuilder& out) {
  struct Field {
    std::string_view name;
    std::string_view help;
    std::optional<double> Usage::*member;
  };
  const Field fields[] = {{"used", "Used bytes of a given JVM ", &Usage::used},
                          {"committed", "Committed (bytes) of a given JVM ", &Usage::committed},
                          {"max", "Max (bytes) of a given JVM ", &Usage::max},
                          {"init", "Initial bytes of a given JVM ", &Usage::init}};
  for (const auto& field : fields) {
    std::string name = std::string(prefix) + std::string(field.name) + std::string(suffix);
    std::string help = std::string(field.help) + std::string(what);
    for (const auto& [key, usage] : by_name) {
      if (const auto& v = usage.*field.member) {
        out.add(name, help, MetricType::kGauge, {{std::string(label), key}}, *v);
      }
    }
  }
}

}  // namespace

const std::vector<PlannedRead>& jvm_reads() {
  static const std::vector<PlannedRead> reads{
      {"java.lang:type=Memory",
       {"HeapMemoryUsage", "NonHeapMemoryUsage", "ObjectPendingFinalizationCount"}},
      {"java.lang:type=MemoryPool,*", {"Usage", "CollectionUsage"}},
      {"java.nio:type=BufferPool,*", {"MemoryUsed", "TotalCapacity", "Count"}},
      {"java.lang:type=GarbageCollector,*", {"CollectionCount", "CollectionTime"}},
      {"java.lang:type=Threading",
       {"ThreadCount", "DaemonThreadCount", "PeakThreadCount", "TotalStartedThreadCount"}},
      {"java.lang:type=ClassLoading",
       {"LoadedClassCount", "TotalLoadedClassCount", "UnloadedClassCount"}},
      {"java.lang:type=OperatingSystem",
       {"ProcessCpuTime", "OpenFileDescriptorCount", "MaxFileDescriptorCount",
        "CommittedVirtualMemorySize"}},
      {"java.lang:type=Runtime", {"StartTime", "VmVendor", "SystemProperties"}},
  };
  return reads;
}

bool is_jvm_bean(const ObjectName& name) {
  return name.domain == "java.lang" || name.domain == "java.nio";
}

void JvmObservation::observe(const ObjectName& bean, const BeanLeaf& leaf) {
  const std::string* type = property(bean, "type");
  if (type == nullptr) return;
  const std::string* name = property(bean, "name");
  auto value = number_of(leaf.value);
  const auto& keys = leaf.attr_keys;

  if (*type == "Memory" && keys.size() == 1 && value) {
    if (keys[0] == "HeapMemoryUsage")
      set_usage_field(leaf.attr_name, *value, area_["heap"]);
    else if (keys[0] == "NonHeapMemoryUsage")
      set_usage_field(leaf.attr_name, *value, area_["nonheap"]);
  } else if (*type == "MemoryPool" && name && keys.size() == 1 && value) {
    if (keys[0] == "Usage")
      set_usage_field(leaf.attr_name, *value, pool_[*name]);
    else if (keys[0] == "CollectionUsage")
      set_usage_field(leaf.attr_name, *value, pool_collection_[*name]);
  } else if (*type == "BufferPool" && name && keys.empty() && value) {
    auto& pool = buffer_pool_[*name];
    if (leaf.attr_name == "MemoryUsed")
      pool.used_bytes = value;
    else if (leaf.attr_name == "TotalCapacity")
      pool.capacity_bytes = value;
    else if (leaf.attr_name == "Count")
      pool.buffers = value;
  } else if (*type == "GarbageCollector" && name && keys.empty() && value) {
    if (leaf.attr_name == "CollectionCount")
      gc_[*name].count = value;
    else if (leaf.attr_name == "CollectionTime")
      gc_[*name].time_ms = value;
  } else if (*type == "Runtime" && leaf.value.kind == LeafValue::Kind::kString) {
    // SystemProperties is a TabularData: flattened either as a composite (the property name is
    // the leaf's name) or as rows (the name is the `key` index column).
    std::string_view property_name;
    if (keys.size() == 1 && keys[0] == "SystemProperties") property_name = leaf.attr_name;
    if (leaf.attr_name == "SystemProperties") {
      for (const auto& [k, v] : leaf.bean_properties) {
        if (k == "key") property_name = v;  // the row's index column
      }
    }
    if (property_name == "java.runtime.name")
      info_["runtime"] = std::string(leaf.value.text);
    else if (property_name == "java.runtime.version")
      info_["version"] = std::string(leaf.value.text);
    else if (keys.empty() && leaf.attr_name == "VmVendor")
      info_["vendor"] = std::string(leaf.value.text);
  }
  if (keys.empty() && value) {
    for (const auto& s : kScalars) {
      if (*type == s.type && leaf.attr_name == s.attribute)
        scalars_[std::string(s.series)] = *value * s.factor;
    }
  }
}

void JvmObservation::emit(FamilyBuilder& out) const {
  emit_usage(area_, "jvm_memory_bytes_", "", "area", "memory area.", out);
  emit_usage(pool_, "jvm_memory_pool_bytes_", "", "pool", "memory pool.", out);
  // CollectionUsage is null for pools without a collector; those leaves never arrive.
  emit_usage(pool_collection_, "jvm_memory_pool_collection_", "_bytes", "pool",
             "memory pool after last collection.", out);
  for (const auto& [pool, b] : buffer_pool_) {
    if (b.used_bytes) {
      out.add("jvm_buffer_pool_used_bytes", "Used bytes of a given JVM buffer pool.",
              MetricType::kGauge, {{"pool", pool}}, *b.used_bytes);
    }
    if (b.capacity_bytes) {
      out.add("jvm_buffer_pool_capacity_bytes", "Bytes capacity of a given JVM buffer pool.",
              MetricType::kGauge, {{"pool", pool}}, *b.capacity_bytes);
    }
    if (b.buffers) {
      out.add("jvm_buffer_pool_used_buffers", "Used buffers of a given JVM buffer pool.",
              MetricType::kGauge, {{"pool", pool}}, *b.buffers);
    }
  }
  for (const auto& [gc, g] : gc_) {
    if (!g.count || !g.time_ms) continue;
    const char* help = "Time spent in a given JVM garbage collector in seconds.";
    out.add_with_suffix("jvm_gc_collection_seconds", help, MetricType::kSummary, {{"gc", gc}},
                        SampleSuffix::kCount, *g.count);
    out.add_with_suffix("jvm_gc_collection_seconds", help, MetricType::kSummary, {{"gc", gc}},
                        SampleSuffix::kSum, *g.time_ms / 1000.0);
  }
  for (const auto& h : kScalarHelp) {
    auto it = scalars_.find(std::string(h.series));
    if (it != scalars_.end()) out.add(h.series, h.help, h.type, {}, it->second);
  }
  if (!info_.empty()) {
    auto get = [this](const char* key) {
      auto it = info_.find(key);
      return it == info_.end() ? std::string() : it->second;
    };
    out.add("jvm_info", "VM version info", MetricType::kGauge,
            {{"runtime", get("runtime")}, {"vendor", get("vendor")}, {"version", get("version")}},
            1);
  }
}

}  // namespace khe::jmx
