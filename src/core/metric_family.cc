#include "khe/core/metric_family.h"

#include <iterator>

namespace khe {

Family& FamilySet::family(std::string name, std::string help, MetricType type,
                          std::vector<std::string> label_names) {
  families_.push_back(
      Family{std::move(name), std::move(help), type, std::move(label_names), {}});
  return families_.back();
}

std::vector<Family> FamilySet::take() && {
  return std::vector<Family>(std::make_move_iterator(families_.begin()),
                             std::make_move_iterator(families_.end()));
}

std::size_t FamilySet::sample_count() const {
  std::size_t n = 0;
  for (const auto& f : families_) n += f.samples.size();
  return n;
}

}  // namespace khe
