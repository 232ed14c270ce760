// SnapshotStore: the one place collectors and the HTTP layer meet.
//
// Collectors publish immutable snapshots; the store renders each to text (and gzip) once, outside
// any lock, then swaps a pointer. A scrape takes the current Exposition pointer and writes the
// parts' bytes: it never renders source data and never waits for a source. Parts are shared,
// not concatenated, so the store holds each source's bytes exactly once.
// Thread-safe: publish/remove from collector threads, current() from HTTP threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "khe/core/metric_family.h"

namespace khe {

// One source's data, rendered.
struct RenderedPart {
  std::string text;  // text format 0.0.4
  std::string gzip;  // the same bytes as one gzip member
};

// What a scrape sends: every source's part, in a stable order (by source name).
struct Exposition {
  std::vector<std::shared_ptr<const RenderedPart>> parts;
  std::size_t text_size = 0;
  std::size_t gzip_size = 0;

  std::string text() const;  // concatenated, for --once and tests
};

class SnapshotStore {
 public:
  SnapshotStore() = default;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Renders and stores the snapshot as the current data of snapshot.source.
  void publish(const Snapshot& snapshot);
  // Drops a source's data (e.g. when it has been stale for too long).
  void remove(const std::string& source);
  // Never null.
  std::shared_ptr<const Exposition> current() const;
  bool has(const std::string& source) const;

 private:
  void rebuild_and_swap();  // requires publish_mutex_

  mutable std::mutex publish_mutex_;
  std::map<std::string, std::shared_ptr<const RenderedPart>> by_source_;  // GUARDED_BY(publish_mutex_)
  mutable std::mutex current_mutex_;
  std::shared_ptr<const Exposition> current_ =
      std::make_shared<Exposition>();  // GUARDED_BY(current_mutex_)
};

}  // namespace khe
