// The HTTP transport against fake agents on 127.0.0.1 (ports picked by the kernel): an
// httplib::Server for well-formed HTTP, raw sockets for the nasty cases, and an HTTPS server
// with a throwaway self-signed certificate made by the openssl CLI.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "khe/jmx/jolokia_client.h"

namespace khe::jmx {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kReply = R"([{"status":200,"value":{"Count":1}}])";

// An httplib::Server on a free loopback port, serving on its own thread until destroyed.
class FakeAgent {
 public:
  explicit FakeAgent(std::function<void(httplib::Server&)> routes,
                     httplib::Server* server = nullptr)
      : server_(server != nullptr ? server : &own_) {
    routes(*server_);
    port_ = server_->bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    // The socket listens once bound: requests queue until the thread accepts them.
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~FakeAgent() {
    // stop() before the accept loop runs would be lost (httplib 0.11): wait for it, bounded.
    for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(10ms);
    server_->stop();
    thread_.join();
  }
  std::string url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/jolokia/";
  }

 private:
  httplib::Server own_;
  httplib::Server* server_;
  int port_ = 0;
  std::thread thread_;
};

// A TCP socket bound to a free loopback port; returns the port (0 on failure).
int bind_loopback(int fd) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return 0;
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A raw TCP listener on a free loopback port: each accepted connection goes to `serve` on the
// listener's thread. Bounded: it stops accepting when destroyed.
class RawAgent {
 public:
  explicit RawAgent(std::function<void(int fd)> serve) : serve_(std::move(serve)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    port_ = bind_loopback(listener_);
    EXPECT_GT(port_, 0);
    EXPECT_EQ(::listen(listener_, 8), 0);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) continue;
        serve_(fd);
        ::close(fd);
      }
    });
  }
  ~RawAgent() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jolokia/"; }

 private:
  std::function<void(int)> serve_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Reads the request head (up to the blank line) so the client is done writing.
void read_request_head(int fd) {
  std::string seen;
  char buf[4096];
  while (seen.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    seen.append(buf, static_cast<std::size_t>(n));
  }
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Waits (bounded) until the client closes its end.
void wait_for_close(int fd, std::chrono::milliseconds at_most) {
  char buf[256];
  const auto until = Clock::now() + at_most;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0 && ::recv(fd, buf, sizeof(buf), 0) <= 0) return;
  }
}

JolokiaTarget target_for(const std::string& url) {
  JolokiaTarget target;
  target.url = url;
  target.connect_timeout = 1s;
  target.read_timeout = 2s;
  return target;
}

Result<std::string> post(const JolokiaTarget& target, std::chrono::milliseconds budget = 5s) {
  return make_http_jolokia_transport(target)->post("[]", Clock::now() + budget);
}

TEST(JolokiaTransport, PostsTheBodyAndReturnsTheReply) {
  std::string seen_body, seen_type, seen_path;
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/", [&](const httplib::Request& req, httplib::Response& res) {
      seen_body = req.body;
      seen_type = req.get_header_value("Content-Type");
      seen_path = req.path;
      res.set_content(kReply, "text/plain");
    });
  });
  auto transport = make_http_jolokia_transport(target_for(agent.url()));
  auto reply = transport->post(R"([{"type":"read"}])", Clock::now() + 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(*reply, kReply);
  EXPECT_EQ(seen_body, R"([{"type":"read"}])");
  EXPECT_EQ(seen_type, "application/json");
  EXPECT_EQ(seen_path, "/jolokia/");
}

TEST(JolokiaTransport, ReusesTheConnectionBetweenPolls) {
  std::mutex mutex;
  std::set<int> client_ports;
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      client_ports.insert(req.remote_port);
      res.set_content(kReply, "text/plain");
    });
  });
  auto transport = make_http_jolokia_transport(target_for(agent.url()));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(transport->post("[]", Clock::now() + 5s).ok());
  EXPECT_EQ(client_ports.size(), 1u);
}

TEST(JolokiaTransport, ReconnectsWhenTheAgentClosedTheIdleConnection) {
  httplib::Server server;
  server.set_keep_alive_max_count(1);  // the server closes after every reply
  std::atomic<int> requests{0};
  FakeAgent agent(
      [&](httplib::Server& s) {
        s.Post("/jolokia/", [&](const httplib::Request&, httplib::Response& res) {
          ++requests;
          res.set_content(kReply, "text/plain");
        });
      },
      &server);
  auto transport = make_http_jolokia_transport(target_for(agent.url()));
  for (int i = 0; i < 3; ++i) {
    auto reply = transport->post("[]", Clock::now() + 5s);
    ASSERT_TRUE(reply.ok()) << i << ": " << reply.error().to_string();
  }
  EXPECT_EQ(requests.load(), 3);
}

TEST(JolokiaTransport, SendsBasicAuthAndNeverPrintsThePassword) {
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/", [&](const httplib::Request& req, httplib::Response& res) {
      // base64("jolokia:s3cr3t-pw")
      if (req.get_header_value("Authorization") == "Basic am9sb2tpYTpzM2NyM3QtcHc=") {
        res.set_content(kReply, "text/plain");
      } else {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Basic realm=\"jolokia\"");
      }
    });
  });
  JolokiaTarget target = target_for(agent.url());
  target.user = "jolokia";
  target.password = "s3cr3t-pw";
  EXPECT_TRUE(post(target).ok());

  target.password = "wrong-s3cr3t";
  auto refused = post(target);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kAuth);
  EXPECT_THAT(refused.error().to_string(), Not(HasSubstr("wrong-s3cr3t")));
  EXPECT_THAT(refused.error().to_string(), HasSubstr("jolokia"));

  target.user.clear();
  target.password.clear();
  auto anonymous = post(target);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.error().kind, ErrorKind::kAuth);
}

TEST(JolokiaTransport, StatusCodesMapToErrorKinds) {
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/403",
           [](const httplib::Request&, httplib::Response& res) { res.status = 403; });
    s.Post("/jolokia/400", [](const httplib::Request&, httplib::Response& res) {
      res.status = 400;
      res.set_content(
          R"({"error_type":"java.lang.IllegalArgumentException",)"
          R"("error":"java.lang.IllegalArgumentException : Invalid object name","status":400})",
          "text/plain");
    });
    s.Post("/jolokia/500", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("<html>Internal Server Error</html>", "text/html");
    });
    s.Post("/jolokia/302",
           [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/elsewhere"); });
  });
  auto at = [&](const char* path) {
    std::string url = agent.url();
    return post(target_for(url.substr(0, url.size() - 1) + path));
  };
  auto forbidden = at("/403");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().kind, ErrorKind::kAuth);
  auto bad_request = at("/400");
  ASSERT_FALSE(bad_request.ok());
  EXPECT_EQ(bad_request.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(bad_request.error().message,
              HasSubstr("HTTP 400: java.lang.IllegalArgumentException : Invalid object name"));
  auto server_error = at("/500");
  ASSERT_FALSE(server_error.ok());
  EXPECT_EQ(server_error.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(server_error.error().message, HasSubstr("HTTP 500"));
  EXPECT_THAT(server_error.error().message, Not(HasSubstr("html")));
  auto redirect = at("/302");
  ASSERT_FALSE(redirect.ok());
  EXPECT_EQ(redirect.error().kind, ErrorKind::kProtocol);
}

TEST(JolokiaTransport, AbortsAReplyLargerThanTheBound) {
  const std::size_t max = 64 << 10;
  std::atomic<std::size_t> chunked_sent{0};
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/length", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(max + 1, ' '), "text/plain");
    });
    s.Post("/jolokia/chunked", [&](const httplib::Request&, httplib::Response& res) {
      // Without a Content-Length: 1 MiB chunks until the client hangs up (bounded at 256 MiB).
      res.set_chunked_content_provider("text/plain",
                                       [&](std::size_t offset, httplib::DataSink& sink) {
                                         static const std::string chunk(1 << 20, ' ');
                                         if (offset >= (256u << 20)) {
                                           sink.done();
                                           return true;
                                         }
                                         chunked_sent += chunk.size();
                                         return sink.write(chunk.data(), chunk.size());
                                       });
    });
  });
  std::string base = agent.url();
  base.pop_back();
  for (const char* path : {"/length", "/chunked"}) {
    JolokiaTarget target = target_for(base + path);
    target.max_reply_bytes = max;
    auto reply = post(target);
    ASSERT_FALSE(reply.ok()) << path;
    EXPECT_EQ(reply.error().kind, ErrorKind::kReplyTooLarge) << path;
  }
  EXPECT_LT(chunked_sent.load(), std::size_t{256} << 20) << "the transfer went on after the bound";
}

TEST(JolokiaTransport, GarbageIsNotAnHttpReply) {
  RawAgent agent([](int fd) {
    read_request_head(fd);
    send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\nthis is not http\r\n\r\n");
  });
  auto reply = post(target_for(agent.url()));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::kProtocol);
}

TEST(JolokiaTransport, AGarbageBodyIsTheWalkersToReject) {
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("\x89PNG\r\n\x1a\n\0\0garbage", 16), "image/png");
    });
  });
  auto reply = post(target_for(agent.url()));
  ASSERT_TRUE(reply.ok());
  auto walked = walk_bulk_reply(
      *reply, {}, [](const ObjectName&) { return true; }, [](const BeanLeaf&) {});
  ASSERT_FALSE(walked.ok());
  EXPECT_EQ(walked.error().kind, ErrorKind::kProtocol);
}

TEST(JolokiaTransport, ATruncatedBody) {
  RawAgent agent([](int fd) {
    read_request_head(fd);
    send_all(fd,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
             "1000\r\n\r\n[{\"status\":200,");
  });
  auto reply = post(target_for(agent.url()));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::kProtocol);
  EXPECT_THAT(reply.error().message, HasSubstr("ended early"));
}

TEST(JolokiaTransport, AServerThatAcceptsAndNeverAnswers) {
  RawAgent agent([](int fd) {
    read_request_head(fd);
    wait_for_close(fd, 5s);
  });
  JolokiaTarget target = target_for(agent.url());
  target.read_timeout = 300ms;
  auto by_read_timeout = post(target, 5s);
  ASSERT_FALSE(by_read_timeout.ok());
  EXPECT_EQ(by_read_timeout.error().kind, ErrorKind::kTimeout);

  target.read_timeout = 10s;
  auto by_deadline = post(target, 300ms);
  ASSERT_FALSE(by_deadline.ok());
  EXPECT_EQ(by_deadline.error().kind, ErrorKind::kTimeout);
}

TEST(JolokiaTransport, ASilentAgentOnAReusedConnectionIsNotRetried) {
  // The agent answers the first poll, then goes silent on the same connection (a stopped
  // broker). A retry would open a second connection; it must not.
  std::atomic<int> connections{0};
  RawAgent agent([&](int fd) {
    if (++connections > 1) return;
    read_request_head(fd);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(kReply.size()) + "\r\n\r\n" + kReply);
    wait_for_close(fd, 5s);
  });
  JolokiaTarget target = target_for(agent.url());
  target.read_timeout = 300ms;
  {
    auto transport = make_http_jolokia_transport(target);
    ASSERT_TRUE(transport->post("[]", Clock::now() + 5s).ok());
    auto silent = transport->post("[]", Clock::now() + 5s);
    ASSERT_FALSE(silent.ok());
    EXPECT_EQ(silent.error().kind, ErrorKind::kTimeout);
  }
  // A retried connection would be waiting in the listen backlog now: give it time to be seen.
  for (int i = 0; i < 20 && connections.load() < 2; ++i) std::this_thread::sleep_for(25ms);
  EXPECT_EQ(connections.load(), 1);
}

TEST(JolokiaTransport, ASlowDripCannotHoldThePollPastTheDeadline) {
  // One byte every 20 ms keeps every recv() inside the read timeout; only the deadline ends it.
  for (bool in_headers : {false, true}) {
    RawAgent agent([in_headers](int fd) {
      read_request_head(fd);
      std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n";
      if (!in_headers) send_all(fd, head);
      const std::string drip = in_headers ? head : std::string(100000, ' ');
      const auto until = Clock::now() + 5s;
      for (std::size_t i = 0; i < drip.size() && Clock::now() < until; ++i) {
        if (::send(fd, &drip[i], 1, MSG_NOSIGNAL) <= 0) return;
        std::this_thread::sleep_for(20ms);
      }
    });
    JolokiaTarget target = target_for(agent.url());
    target.read_timeout = 2s;
    auto reply = post(target, 400ms);
    ASSERT_FALSE(reply.ok()) << in_headers;
    EXPECT_EQ(reply.error().kind, ErrorKind::kTimeout) << in_headers;
  }
}

TEST(JolokiaTransport, ConnectionRefused) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int port = bind_loopback(fd);
  ::close(fd);  // nothing listens on this port now
  ASSERT_GT(port, 0);
  auto reply = post(target_for("http://127.0.0.1:" + std::to_string(port) + "/jolokia/"));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::kConnect);
}

TEST(JolokiaTransport, BadUrlsAreConfigErrorsThatDoNotEchoTheUrl) {
  for (const char* url :
       {"127.0.0.1:8778/jolokia/", "ftp://h/", "http:///jolokia", "http://h:99999/", "http://h:x/",
        "http://[::1/", "http://admin:hunter2@h:8778/jolokia/"}) {
    auto reply = post(target_for(url));
    ASSERT_FALSE(reply.ok()) << url;
    EXPECT_EQ(reply.error().kind, ErrorKind::kConfig) << url;
    EXPECT_THAT(reply.error().to_string(), Not(HasSubstr("hunter2")));
  }
}

TEST(JolokiaTransport, AnExpiredDeadlineSendsNothing) {
  std::atomic<int> requests{0};
  FakeAgent agent([&](httplib::Server& s) {
    s.Post("/jolokia/", [&](const httplib::Request&, httplib::Response& res) {
      ++requests;
      res.set_content(kReply, "text/plain");
    });
  });
  auto reply = make_http_jolokia_transport(target_for(agent.url()))->post("[]", Clock::now() - 1s);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::kTimeout);
  EXPECT_EQ(requests.load(), 0);
}

// A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI.
class SelfSignedCert {
 public:
  SelfSignedCert() {
    dir_ =
        std::filesystem::temp_directory_path() / ("khe-jolokia-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        key() + " -out " + cert() + " >/dev/null 2>&1";
    ok_ = std::system(command.c_str()) == 0;
  }
  ~SelfSignedCert() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string cert() const { return (dir_ / "cert.pem").string(); }
  std::string key() const { return (dir_ / "key.pem").string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

TEST(JolokiaTransport, HttpsWithACaFileOrSkippingVerification) {
  SelfSignedCert cert;
  ASSERT_TRUE(cert.ok()) << "openssl req failed";
  httplib::SSLServer server(cert.cert().c_str(), cert.key().c_str());
  ASSERT_TRUE(server.is_valid());
  std::string seen_auth;
  FakeAgent agent(
      [&](httplib::Server& s) {
        s.Post("/jolokia/", [&](const httplib::Request& req, httplib::Response& res) {
          seen_auth = req.get_header_value("Authorization");
          res.set_content(kReply, "text/plain");
        });
      },
      &server);

  JolokiaTarget target = target_for(agent.url("https"));
  target.ca_file = cert.cert();
  target.user = "u";
  target.password = "p";
  auto trusted = post(target);
  ASSERT_TRUE(trusted.ok()) << trusted.error().to_string();
  EXPECT_EQ(*trusted, kReply);
  EXPECT_EQ(seen_auth, "Basic dTpw");

  target.ca_file.clear();  // the system's store does not know the certificate
  auto untrusted = post(target);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().kind, ErrorKind::kConnect);

  target.insecure_skip_verify = true;
  EXPECT_TRUE(post(target).ok());

  JolokiaTarget plain = target_for(agent.url("http"));  // http to an https port
  EXPECT_FALSE(post(plain).ok());
}

}  // namespace
}  // namespace khe::jmx
