// libFuzzer target for everything that reads bytes a Jolokia agent (or something posing as
// one) sent: walk_bulk_reply with reads of every shape (pattern, plain with one attribute,
// plain with all), the agent error text, and ObjectName parsing. The callbacks read every
// byte a BeanLeaf points at, so ASan sees any view that outlived its storage. Built only with
// clang (-fsanitize=fuzzer,address,undefined); seeded with test/data/jmx/jolokia/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "khe/jmx/jolokia_client.h"

namespace {

std::size_t touch(std::string_view text) {
  std::size_t h = text.size();
  for (char c : text) h = h * 31 + static_cast<unsigned char>(c);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace khe::jmx;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)agent_error_text(input);
  (void)ObjectName::parse(input);
  (void)is_object_name_pattern(input);

  static const PlannedRead kShapes[] = {
      {"kafka.server:type=BrokerTopicMetrics,*", {}},
      {"java.lang:type=Memory", {"HeapMemoryUsage"}},
      {"java.lang:type=Runtime", {}},
      {"java.lang:type=GarbageCollector,*", {"LastGcInfo", "CollectionCount"}},
  };
  volatile std::size_t sink = 0;
  // The reply must have as many elements as reads: try each count up to 8, shapes rotating.
  for (std::size_t count = 1; count <= 8; ++count) {
    std::vector<PlannedRead> reads;
    for (std::size_t i = 0; i < count; ++i) reads.push_back(kShapes[(i + size) % 4]);
    auto outcomes = walk_bulk_reply(
        input, reads,
        [&](const ObjectName& name) {
          sink = sink + touch(name.domain);
          return name.properties.size() % 5 != 4;
        },
        [&](const BeanLeaf& leaf) {
          std::size_t h = touch(leaf.domain) + touch(leaf.attr_name) + touch(leaf.value.text);
          for (const auto& [k, v] : leaf.bean_properties) h += touch(k) + touch(v);
          for (const auto& key : leaf.attr_keys) h += touch(key);
          sink = sink + h + static_cast<std::size_t>(leaf.value.kind);
        });
    if (outcomes) {
      for (const auto& o : *outcomes) {
        if (o.error) sink = sink + touch(o.error->message);
      }
      break;
    }
  }
  return 0;
}
