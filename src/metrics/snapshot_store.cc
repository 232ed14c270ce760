#include "khe/metrics/snapshot_store.h"

#include "khe/metrics/text_format.h"

namespace khe {

void SnapshotStore::publish(const Snapshot& snapshot) {
  auto rendered = std::make_shared<Rendered>();
  render_text(snapshot.families, rendered->text);
  rendered->gzip = gzip_compress(rendered->text);
  std::lock_guard lock(publish_mutex_);
  by_source_[snapshot.source] = std::move(rendered);
  rebuild_and_swap();
}

void SnapshotStore::remove(const std::string& source) {
  std::lock_guard lock(publish_mutex_);
  if (by_source_.erase(source) > 0) rebuild_and_swap();
}

bool SnapshotStore::has(const std::string& source) const {
  std::lock_guard lock(publish_mutex_);
  return by_source_.count(source) > 0;
}

std::shared_ptr<const Exposition> SnapshotStore::current() const {
  std::lock_guard lock(current_mutex_);
  return current_;
}

void SnapshotStore::rebuild_and_swap() {
  // Concatenation only (a few memcpys): rendering and compression happened before any lock.
  auto exposition = std::make_shared<Exposition>();
  std::size_t text_size = 0, gzip_size = 0;
  for (const auto& [source, rendered] : by_source_) {
    text_size += rendered->text.size();
    gzip_size += rendered->gzip.size();
  }
  exposition->text.reserve(text_size);
  exposition->gzip.reserve(gzip_size);
  for (const auto& [source, rendered] : by_source_) {
    exposition->text += rendered->text;
    exposition->gzip += rendered->gzip;
  }
  std::lock_guard lock(current_mutex_);
  current_ = std::move(exposition);
}

}  // namespace khe
