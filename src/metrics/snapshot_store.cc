#include "khe/metrics/snapshot_store.h"

#include <malloc.h>

#include "khe/metrics/text_format.h"

namespace khe {

std::string Exposition::text() const {
  std::string out;
  out.reserve(text_size);
  for (const auto& part : parts) out += part->text;
  return out;
}

void SnapshotStore::publish(const Snapshot& snapshot) {
  auto rendered = std::make_shared<RenderedPart>();
  render_text(snapshot.families, rendered->text);
  rendered->gzip = gzip_compress(rendered->text);
  {
    std::lock_guard lock(publish_mutex_);
    by_source_[snapshot.source] = std::move(rendered);
    rebuild_and_swap();
  }
  // The previous snapshot's megabytes were just freed; hand them back to the system instead of
  // letting each poll's peak stay resident.
  malloc_trim(0);
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
  auto exposition = std::make_shared<Exposition>();
  for (const auto& [source, part] : by_source_) {
    exposition->parts.push_back(part);
    exposition->text_size += part->text.size();
    exposition->gzip_size += part->gzip.size();
  }
  std::lock_guard lock(current_mutex_);
  current_ = std::move(exposition);
}

}  // namespace khe
