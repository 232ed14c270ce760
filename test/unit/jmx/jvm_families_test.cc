// The JVM series on a real Jolokia 1.7.2 reply to jvm_reads() (test/data/jmx/jolokia/
// jvm_reads.json): what jmx_exporter's javaagent reports from the same platform MXBeans.
#include "khe/jmx/jvm_families.h"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "khe/jmx/jolokia_client.h"

namespace khe::jmx {
namespace {

std::string read_reply() {
  std::ifstream in(std::string(KHE_TEST_DATA) + "/jmx/jolokia/jvm_reads.json", std::ios::binary);
  EXPECT_TRUE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Families {
  std::vector<Family> families;

  const Family* find(std::string_view name) const {
    for (const auto& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  // The value of the sample whose labels include all of `labels`.
  std::optional<double> value(std::string_view name,
                              std::vector<std::pair<std::string, std::string>> labels = {},
                              SampleSuffix suffix = SampleSuffix::kNone) const {
    const Family* f = find(name);
    if (f == nullptr) return std::nullopt;
    for (const auto& s : f->samples) {
      if (s.suffix != suffix) continue;
      bool all = true;
      for (const auto& [k, v] : labels) {
        bool match = false;
        for (std::size_t i = 0; i < f->label_names.size(); ++i) {
          match = match || (f->label_names[i] == k && s.label_values[i] == v);
        }
        all = all && match;
      }
      if (all) return s.value;
    }
    return std::nullopt;
  }
};

Families observe_capture() {
  JvmObservation jvm;
  const ObjectName* bean = nullptr;
  auto outcomes = walk_bulk_reply(
      read_reply(), jvm_reads(),
      [&](const ObjectName& name) {
        bean = &name;
        return is_jvm_bean(name);
      },
      [&](const BeanLeaf& leaf) { jvm.observe(*bean, leaf); });
  EXPECT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  FamilyBuilder builder;
  jvm.emit(builder);
  return Families{std::move(builder).take()};
}

TEST(JvmFamilies, CaptureWasTakenWithTodaysReads) {
  // The capture answers the reads jvm_reads() makes; a change there needs a new capture.
  auto outcomes = walk_bulk_reply(
      read_reply(), jvm_reads(), [](const ObjectName&) { return true; }, [](const BeanLeaf&) {});
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  for (const auto& outcome : *outcomes) {
    EXPECT_FALSE(outcome.error) << outcome.error->to_string();
    EXPECT_FALSE(outcome.empty);
  }
}

TEST(JvmFamilies, InfoCarriesRuntimeVendorAndVersion) {
  auto f = observe_capture();
  EXPECT_EQ(f.value("jvm_info", {{"runtime", "OpenJDK Runtime Environment"},
                                 {"vendor", "Debian"},
                                 {"version", "17.0.15+6-Debian-1deb12u1"}}),
            1.0);
}

TEST(JvmFamilies, MemoryGcThreadsAndProcess) {
  auto f = observe_capture();
  EXPECT_EQ(f.value("jvm_memory_bytes_used", {{"area", "heap"}}), 153958960.0);
  EXPECT_EQ(f.value("jvm_memory_bytes_max", {{"area", "nonheap"}}), -1.0);
  EXPECT_EQ(
      f.value("jvm_gc_collection_seconds", {{"gc", "G1 Young Generation"}}, SampleSuffix::kCount),
      11.0);
  EXPECT_DOUBLE_EQ(
      *f.value("jvm_gc_collection_seconds", {{"gc", "G1 Young Generation"}}, SampleSuffix::kSum),
      0.042);
  EXPECT_EQ(f.value("jvm_threads_current"), 55.0);
  EXPECT_DOUBLE_EQ(*f.value("jvm_process_start_time_seconds"), 1795983001.912);
  ASSERT_NE(f.find("jvm_gc_collection_seconds"), nullptr);
  EXPECT_EQ(f.find("jvm_gc_collection_seconds")->type, MetricType::kSummary);
  EXPECT_EQ(f.find("jvm_threads_started_total")->type, MetricType::kCounter);
}

}  // namespace
}  // namespace khe::jmx
