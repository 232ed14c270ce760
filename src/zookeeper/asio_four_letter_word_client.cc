// The Boost.Asio four-letter-word client: every request is its own connection, all of them in
// flight at once on one io_context run by the calling thread.
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "khe/zookeeper/four_letter_word_client.h"

namespace khe {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

// One word sent to one server: resolve, connect, write, read to EOF. Owned by the handlers
// that are pending on it (shared_ptr), so it lives exactly as long as there is work for it.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, const FourLetterWordLimits& limits, Clock::time_point started,
           Clock::time_point deadline, FourLetterWordReply& out)
      : limits_(limits),
        started_(started),
        deadline_(deadline),
        out_(out),
        resolver_(io),
        socket_(io),
        timer_(io) {}

  void start() {
    auto colon = out_.server.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == out_.server.size()) {
      return finish(Error{ErrorKind::kConfig, out_.server, "server must be host:port"});
    }
    std::string host = out_.server.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    arm_timer(std::min(deadline_, Clock::now() + limits_.connect_timeout), "connect");
    auto self = shared_from_this();
    resolver_.async_resolve(
        host, out_.server.substr(colon + 1),
        [self](const boost::system::error_code& ec, const tcp::resolver::results_type& endpoints) {
          self->on_resolved(ec, endpoints);
        });
  }

 private:
  void arm_timer(Clock::time_point when, const char* phase) {
    phase_ = phase;
    timer_.expires_at(when);
    auto self = shared_from_this();
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->done_) return;  // cancelled: the phase finished in time
      self->timed_out_ = true;
      self->resolver_.cancel();
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
  }

  void on_resolved(const boost::system::error_code& ec,
                   const tcp::resolver::results_type& endpoints) {
    if (ec) return fail(ec, "resolve");
    auto self = shared_from_this();
    asio::async_connect(socket_, endpoints,
                        [self](const boost::system::error_code& e, const tcp::endpoint&) {
                          self->on_connected(e);
                        });
  }

  void on_connected(const boost::system::error_code& ec) {
    if (ec) return fail(ec, "connect");
    timer_.cancel();
    arm_timer(std::min(deadline_, Clock::now() + limits_.read_timeout), "read");
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_.word),
                      [self](const boost::system::error_code& e, std::size_t) {
                        if (e) return self->fail(e, "write");
                        self->read_more();
                      });
  }

  void read_more() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [self](const boost::system::error_code& ec,
                                                         std::size_t n) {
      self->reply_.append(self->chunk_.data(), n);
      if (self->reply_.size() > self->limits_.max_reply_bytes) {
        return self->finish(Error{ErrorKind::kReplyTooLarge, self->out_.server,
                                  self->out_.word + ": reply larger than " +
                                      std::to_string(self->limits_.max_reply_bytes) + " bytes"});
      }
      if (ec == asio::error::eof) return self->finish(std::move(self->reply_));
      if (ec) return self->fail(ec, "read");
      self->read_more();
    });
  }

  void fail(const boost::system::error_code& ec, const char* operation) {
    if (timed_out_) {
      auto limit = phase_ == std::string("read") ? limits_.read_timeout : limits_.connect_timeout;
      return finish(Error{ErrorKind::kTimeout, out_.server,
                          out_.word + ": no " +
                              (phase_ == std::string("read") ? "reply" : "connection") +
                              " within " + millis(limit) + " (or the poll deadline)"});
    }
    // A server that closes the connection before the reply ends resets it on some kernels.
    if (ec == asio::error::connection_reset && std::string(operation) == "read") {
      return finish(std::move(reply_));
    }
    return finish(Error{ErrorKind::kConnect, out_.server,
                        out_.word + ": " + operation + " failed: " + ec.message()});
  }

  void finish(Result<std::string> result) {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    out_.reply = std::move(result);
    out_.elapsed = Clock::now() - started_;
  }

  const FourLetterWordLimits& limits_;
  Clock::time_point started_;
  Clock::time_point deadline_;
  FourLetterWordReply& out_;  // owned by ask(), which outlives the io_context run
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 16 * 1024> chunk_{};
  std::string reply_;
  std::string phase_;
  bool timed_out_ = false;
  bool done_ = false;
};

class AsioFourLetterWordClient final : public FourLetterWordClient {
 public:
  explicit AsioFourLetterWordClient(FourLetterWordLimits limits) : limits_(limits) {}

  std::vector<FourLetterWordReply> ask(const std::vector<FourLetterWordRequest>& requests,
                                       Clock::time_point deadline) override {
    std::vector<FourLetterWordReply> replies(requests.size());
    asio::io_context io;
    auto started = Clock::now();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      replies[i].server = requests[i].server;
      replies[i].word = requests[i].word;
      if (is_forbidden_word(requests[i].word)) {
        replies[i].reply =
            Error{ErrorKind::kInternal, requests[i].server,
                  requests[i].word + ": refusing to send a word that resets statistics"};
        continue;
      }
      std::make_shared<Exchange>(io, limits_, started, deadline, replies[i])->start();
    }
    io.run();
    return replies;
  }

 private:
  FourLetterWordLimits limits_;
};

}  // namespace

bool is_forbidden_word(const std::string& word) { return word == "srst" || word == "crst"; }

std::unique_ptr<FourLetterWordClient> make_asio_four_letter_word_client(
    FourLetterWordLimits limits) {
  return std::make_unique<AsioFourLetterWordClient>(limits);
}

}  // namespace khe
