// Collector: one source, polled on its own timer by a CollectorRunner. It knows nothing of HTTP or
// of the store; it turns what its source says into metric families.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "khe/core/error.h"
#include "khe/core/metric_family.h"

namespace khe {

struct Collection {
  std::vector<Family> families;
  std::vector<Error> errors;  // partial failures; the families are still valid
};

class Collector {
 public:
  virtual ~Collector() = default;
  virtual const std::string& name() const = 0;
  virtual std::chrono::milliseconds interval() const = 0;
  // How long one collection may take; the runner passes now + timeout() as the deadline.
  virtual std::chrono::milliseconds timeout() const = 0;
  // One collection, finished by `deadline`. An Error means nothing usable was collected.
  // Never called concurrently with itself.
  virtual Result<Collection> collect(std::chrono::steady_clock::time_point deadline) = 0;
};

}  // namespace khe
