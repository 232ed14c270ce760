// The Asio client against tiny loopback servers that misbehave in the ways ZooKeeper can:
// silence (SIGSTOP), huge replies, refused connections.
#include "khe/zookeeper/four_letter_word_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

namespace khe {
namespace {

using boost::asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts connections on 127.0.0.1 and answers each with `behaviour(word)`; an empty optional
// means "keep the connection open and say nothing" until the server stops.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::function<std::optional<std::string>(const std::string&)> behaviour)
      : acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        behaviour_(std::move(behaviour)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopbackServer() {
    io_.stop();
    thread_.join();
  }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int words_seen() const { return words_seen_.load(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      auto word = std::make_shared<std::array<char, 4>>();
      boost::asio::async_read(*s, boost::asio::buffer(*word),
                              [this, s, word](boost::system::error_code e, std::size_t) {
                                if (e) return;
                                ++words_seen_;
                                auto reply = behaviour_(std::string(word->data(), 4));
                                if (!reply) {
                                  held_.push_back(s);
                                  return;
                                }
                                auto text = std::make_shared<std::string>(std::move(*reply));
                                boost::asio::async_write(
                                    *s, boost::asio::buffer(*text),
                                    [s, text](boost::system::error_code, std::size_t) {
                                      boost::system::error_code ignored;
                                      s->shutdown(tcp::socket::shutdown_both, ignored);
                                      s->close(ignored);
                                    });
                              });
      accept();
    });
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::function<std::optional<std::string>(const std::string&)> behaviour_;
  std::vector<std::shared_ptr<tcp::socket>> held_;  // only touched on the server thread
  std::atomic<int> words_seen_{0};
  std::thread thread_;
};

std::string refused_address() {
  boost::asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  auto port = a.local_endpoint().port();
  a.close();
  return "127.0.0.1:" + std::to_string(port);
}

TEST(AsioFourLetterWordClient, AllServersInParallelWithPerHostDeadlines) {
  LoopbackServer good([](const std::string& w) -> std::optional<std::string> {
    return w == "ruok" ? std::optional<std::string>("imok")
                       : std::optional<std::string>("zk_a\t1\n");
  });
  LoopbackServer silent([](const std::string&) { return std::optional<std::string>(); });
  LoopbackServer huge(
      [](const std::string&) { return std::optional<std::string>(std::string(100'000, 'x')); });
  auto refused = refused_address();

  auto client = make_asio_four_letter_word_client({1000ms, 300ms, 64 * 1024});
  std::vector<FourLetterWordRequest> requests{
      {good.address(), "ruok"},   {good.address(), "mntr"}, {silent.address(), "mntr"},
      {silent.address(), "srvr"}, {huge.address(), "mntr"}, {refused, "ruok"},
      {"nocolon", "ruok"}};
  auto started = std::chrono::steady_clock::now();
  auto replies = client->ask(requests, started + 5s);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(replies.size(), requests.size());

  ASSERT_TRUE(replies[0].reply.ok()) << replies[0].reply.error().to_string();
  EXPECT_EQ(replies[0].reply.value(), "imok");
  EXPECT_EQ(replies[1].reply.value(), "zk_a\t1\n");
  // Both silent requests time out together, not one after the other.
  for (int i : {2, 3}) {
    ASSERT_FALSE(replies[i].reply.ok());
    EXPECT_EQ(replies[i].reply.error().kind, ErrorKind::kTimeout);
    EXPECT_EQ(replies[i].reply.error().target, silent.address());
  }
  EXPECT_LT(took, 2s);
  ASSERT_FALSE(replies[4].reply.ok());
  EXPECT_EQ(replies[4].reply.error().kind, ErrorKind::kReplyTooLarge);
  EXPECT_EQ(replies[4].reply.error().message, "mntr: reply larger than 65536 bytes");
  ASSERT_FALSE(replies[5].reply.ok());
  EXPECT_EQ(replies[5].reply.error().kind, ErrorKind::kConnect);
  EXPECT_EQ(replies[6].reply.error().message, "server must be host:port");
  EXPECT_EQ(replies[0].server, good.address());
  EXPECT_EQ(replies[0].word, "ruok");
}

TEST(AsioFourLetterWordClient, OverallDeadlineCapsTheReadTimeout) {
  LoopbackServer silent([](const std::string&) { return std::optional<std::string>(); });
  auto client = make_asio_four_letter_word_client({1000ms, 10'000ms, 1024});
  auto started = std::chrono::steady_clock::now();
  auto replies = client->ask({{silent.address(), "mntr"}}, started + 200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_FALSE(replies[0].reply.ok());
  EXPECT_EQ(replies[0].reply.error().kind, ErrorKind::kTimeout);
}

TEST(AsioFourLetterWordClient, NeverSendsResetWords) {
  LoopbackServer server([](const std::string&) { return std::optional<std::string>("ok"); });
  auto client = make_asio_four_letter_word_client({});
  auto replies = client->ask({{server.address(), "srst"}, {server.address(), "crst"}},
                             std::chrono::steady_clock::now() + 1s);
  EXPECT_FALSE(replies[0].reply.ok());
  EXPECT_FALSE(replies[1].reply.ok());
  EXPECT_EQ(server.words_seen(), 0);
}

}  // namespace
}  // namespace khe
