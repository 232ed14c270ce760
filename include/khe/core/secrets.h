// Which configuration keys hold secrets. Their values are never logged, printed or exported.
#pragma once

#include <string_view>

namespace khe {

inline bool is_secret_key(std::string_view key) {
  for (std::string_view word : {"password", "secret", "key", "token", "credentials"}) {
    if (key.find(word) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace khe
