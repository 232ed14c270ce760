// FourLetterWordClient: the seam between the ZooKeeper collector and the network. It sends
// four-letter words over TCP and returns the raw replies; the collector never touches a socket,
// and tests substitute a fake that returns captured replies.
//
// The Boost.Asio implementation sends every request at once (all servers, all words in
// parallel), each with its own connect deadline and read deadline, both capped by the overall
// deadline, and reads each reply to EOF up to a size bound. One ask() call is self-contained
// (its own io_context, run on the calling thread). Not required to be thread-safe: one
// collector calls it at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "khe/core/error.h"

namespace khe {

struct FourLetterWordRequest {
  std::string server;  // host:port
  std::string word;    // ruok, mntr, srvr, isro, ...
};

struct FourLetterWordReply {
  std::string server;
  std::string word;
  Result<std::string> reply = std::string();  // the raw bytes, or connect/timeout/size errors
  std::chrono::duration<double> elapsed{};    // from the start of the call to the reply
};

struct FourLetterWordLimits {
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds read_timeout{5'000};  // from connected to EOF
  std::size_t max_reply_bytes = 4 << 20;
};

class FourLetterWordClient {
 public:
  virtual ~FourLetterWordClient() = default;
  // One reply per request, in request order, all finished by `deadline`.
  virtual std::vector<FourLetterWordReply> ask(const std::vector<FourLetterWordRequest>& requests,
                                               std::chrono::steady_clock::time_point deadline) = 0;
};

// Words that reset server statistics. No client built here sends them; ask() refuses them.
bool is_forbidden_word(const std::string& word);

std::unique_ptr<FourLetterWordClient> make_asio_four_letter_word_client(
    FourLetterWordLimits limits);

}  // namespace khe
