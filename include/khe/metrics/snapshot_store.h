// SnapshotStore: the one place collectors and the HTTP layer meet.
//
// Collectors publish immutable snapshots; the store renders each to text (and gzip) once, outside
// any lock, then swaps a pointer. A scrape takes the current Exposition pointer and writes its
// bytes: it never renders source data and never waits for a source.
// Thread-safe: publish/remove from collector threads, current() from HTTP threads.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "khe/core/metric_family.h"

namespace khe {

// The rendered data of every source, ready to be sent.
struct Exposition {
  std::string text;  // text format 0.0.4
  std::string gzip;  // the same bytes as one gzip member
};

class SnapshotStore {
 public:
  SnapshotStore() = default;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Renders and stores the snapshot as the current data of snapshot->source.
  void publish(const Snapshot& snapshot);
  // Drops a source's data (e.g. when it has been stale for too long).
  void remove(const std::string& source);
  // Never null.
  std::shared_ptr<const Exposition> current() const;
  bool has(const std::string& source) const;

 private:
  struct Rendered {
    std::string text;
    std::string gzip;
  };
  void rebuild_and_swap();  // requires publish_mutex_

  // Two locks so a scrape only ever waits for a pointer copy, never for the concatenation.
  mutable std::mutex publish_mutex_;
  std::map<std::string, std::shared_ptr<const Rendered>> by_source_;  // GUARDED_BY(publish_mutex_)
  mutable std::mutex current_mutex_;
  std::shared_ptr<const Exposition> current_ =
      std::make_shared<Exposition>();  // GUARDED_BY(current_mutex_)
};

}  // namespace khe
