#include "khe/kafka/lag_model.h"

#include <algorithm>

namespace khe {

std::optional<std::int64_t> consumer_lag(std::int64_t latest, std::int64_t committed) {
  if (committed < 0 || latest < 0) return std::nullopt;
  return std::max<std::int64_t>(0, latest - committed);
}

}  // namespace khe
