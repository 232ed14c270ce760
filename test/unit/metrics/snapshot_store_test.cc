#include "khe/metrics/snapshot_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace khe {
namespace {

Snapshot snapshot_of(const std::string& source, double value) {
  Snapshot s;
  s.source = source;
  s.families.push_back(Family{source + "_metric", "h", MetricType::kGauge, {}, {}});
  s.families.back().add({}, value);
  return s;
}

TEST(SnapshotStore, StartsEmpty) {
  SnapshotStore store;
  EXPECT_EQ(store.current()->text(), "");
}

TEST(SnapshotStore, PublishReplacesOnlyThatSource) {
  SnapshotStore store;
  store.publish(snapshot_of("a", 1));
  store.publish(snapshot_of("b", 2));
  store.publish(snapshot_of("a", 3));
  const auto& text = store.current()->text();
  EXPECT_NE(text.find("a_metric 3\n"), std::string::npos);
  EXPECT_EQ(text.find("a_metric 1\n"), std::string::npos);
  EXPECT_NE(text.find("b_metric 2\n"), std::string::npos);
}

TEST(SnapshotStore, RemoveDropsTheSourcesSeries) {
  SnapshotStore store;
  store.publish(snapshot_of("a", 1));
  store.remove("a");
  EXPECT_FALSE(store.has("a"));
  EXPECT_EQ(store.current()->text(), "");
}

TEST(SnapshotStore, ReadersSeeWholeSnapshotsWhilePublishing) {
  SnapshotStore store;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) store.publish(snapshot_of("a", i));
    done = true;
  });
  int torn = 0;
  while (!done) {
    auto text = store.current()->text();
    if (!text.empty() && text.back() != '\n') ++torn;
  }
  writer.join();
  EXPECT_EQ(torn, 0);
  EXPECT_NE(store.current()->text().find("a_metric 1999\n"), std::string::npos);
}

}  // namespace
}  // namespace khe
