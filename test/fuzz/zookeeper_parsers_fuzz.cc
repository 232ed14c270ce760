// libFuzzer target for everything that reads bytes a ZooKeeper server (or something posing as
// one) sent: the four-letter-word parsers, the interpretation of a server's replies and the
// family building on top, and the parsers of Kafka's znodes. Built only with clang
// (-fsanitize=fuzzer,address,undefined); test/run-tests runs it for a bounded time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "khe/zookeeper/four_letter_words.h"
#include "khe/zookeeper/kafka_registry.h"
#include "khe/zookeeper/zookeeper_families.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace khe;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& word : polled_words()) (void)classify_reply(word, input);
  (void)parse_mntr(input);
  (void)parse_srvr(input);
  (void)parse_ruok(input);
  (void)parse_isro(input);
  (void)parse_broker_registration(1, input);
  (void)parse_controller(input);
  (void)parse_controller_epoch(input);

  // The same bytes as every word's reply of one server, through to the families.
  std::vector<FourLetterWordReply> replies;
  for (const auto& word : polled_words()) {
    FourLetterWordReply r;
    r.server = "z:1";
    r.word = word;
    r.reply = std::string(input);
    replies.push_back(std::move(r));
  }
  ZookeeperFamilyInput families_input;
  families_input.servers.push_back(interpret_server("z:1", replies));
  (void)build_zookeeper_families(families_input);
  return 0;
}
