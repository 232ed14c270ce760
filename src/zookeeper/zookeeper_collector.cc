#include "khe/zookeeper/zookeeper_collector.h"

#include <future>

#include "khe/zookeeper/zookeeper_families.h"

namespace khe {

using Clock = std::chrono::steady_clock;

ZookeeperCollector::ZookeeperCollector(ZookeeperOptions options,
                                       std::unique_ptr<FourLetterWordClient> client,
                                       std::unique_ptr<KafkaRegistrySource> registry)
    : options_(std::move(options)), client_(std::move(client)), registry_(std::move(registry)) {}

ZookeeperCollector::ZookeeperCollector(ZookeeperOptions options)
    : ZookeeperCollector(
          options,
          make_asio_four_letter_word_client(FourLetterWordLimits{
              options.connect_timeout, options.read_timeout, options.max_reply_bytes}),
          options.kafka_registry ? make_zookeeper_registry_source(options) : nullptr) {}

Result<Collection> ZookeeperCollector::collect(Clock::time_point deadline) {
  // The registry read blocks on the C client's threads; run it beside the four-letter words
  // so a slow session does not delay them (both are bounded by the same deadline).
  std::future<Result<KafkaRegistry>> registry_read;
  if (registry_) {
    registry_read =
        std::async(std::launch::async, [this, deadline] { return registry_->read(deadline); });
  }
  std::vector<FourLetterWordRequest> requests;
  for (const auto& server : options_.servers) {
    for (const auto& word : polled_words()) requests.push_back({server, word});
  }
  auto replies = client_->ask(requests, deadline);

  Collection out;
  ZookeeperFamilyInput input;
  for (const auto& server : options_.servers) {
    input.servers.push_back(interpret_server(server, replies));
    for (const auto& e : input.servers.back().errors) out.errors.push_back(e.error);
  }
  std::optional<Result<KafkaRegistry>> registry;
  if (registry_read.valid()) {
    registry.emplace(registry_read.get());
    if (!registry->ok()) out.errors.push_back(registry->error());
    input.registry = &*registry;
  }
  out.families = build_zookeeper_families(input);
  return out;
}

}  // namespace khe
