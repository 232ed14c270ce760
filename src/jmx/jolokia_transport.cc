// JolokiaTransport over cpp-httplib: the only file of the JMX bridge that includes the HTTP
// client.
//
// Bounds: the connect and read timeouts are httplib's (capped by what is left before the
// deadline); the deadline itself is enforced by a watchdog thread that stops the client, since
// httplib's read timeout applies to each recv() and a server dripping a byte at a time (in the
// headers too) would otherwise hold the poll forever. The reply size is checked against the
// Content-Length before the body and against the bytes received while it arrives, so an
// oversized reply is aborted, not buffered. Decompressed bytes count, which also bounds a gzip
// bomb.
//
// Keep-alive: one transport serves one target and is called by one thread at a time, so the
// connection is reused between polls. The agent may have closed it while idle (the JDK's
// HttpServer drops idle connections after 30 s); httplib checks the socket before reusing it,
// and a request that still fails on a reused connection before any reply byte is retried once
// on a fresh one (reads are idempotent).
#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "khe/jmx/jolokia_client.h"

namespace khe::jmx {
namespace {

using Clock = std::chrono::steady_clock;

struct ParsedUrl {
  bool https = false;
  std::string host;
  int port = 0;
  std::string path;
};

// http[s]://host[:port][/path]. Credentials in the URL are refused (they belong in user and
// password, which are never printed); the URL itself is not echoed in the message.
Result<ParsedUrl> parse_url(std::string_view url) {
  auto config_error = [](std::string reason) {
    return Error{ErrorKind::kConfig, "", std::move(reason)};
  };
  ParsedUrl out;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return config_error("Jolokia URL has no scheme (http:// or https://)");
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme == "https")
    out.https = true;
  else if (scheme != "http")
    return config_error("Jolokia URL scheme must be http or https");
  std::string_view rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    return config_error(
        "Jolokia URL must not carry credentials; use the user and password settings");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return config_error("Jolokia URL has an unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return config_error("Jolokia URL has text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return config_error("Jolokia URL has no host");
  out.port = out.https ? 443 : 80;
  if (!port_text.empty()) {
    auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || out.port <= 0 ||
        out.port > 65535) {
      return config_error("Jolokia URL has an invalid port");
    }
  }
  return out;
}

// Stops the client when the deadline passes while a request is under way. httplib's stop()
// is the one call documented as safe from another thread: it shuts the socket down, which
// makes the blocked read fail at once.
class Watchdog {
 public:
  Watchdog(httplib::ClientImpl& client, Clock::time_point deadline)
      : thread_([this, &client, deadline] {
          std::unique_lock lock(mutex_);
          if (!wake_.wait_until(lock, deadline, [this] { return done_; })) {
            fired_ = true;
            client.stop();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;   // guarded by mutex_
  bool fired_ = false;  // guarded by mutex_
  std::thread thread_;  // last: starts after the members it uses
};

template <typename Duration>
Duration at_most(Duration limit, Clock::duration remaining) {
  return std::min(limit, std::chrono::duration_cast<Duration>(remaining));
}

std::string status_error_text(int status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(status);
  if (auto agent = agent_error_text(body)) text += ": " + *agent;
  return text;
}

class HttpJolokiaTransport final : public JolokiaTransport {
 public:
  explicit HttpJolokiaTransport(const JolokiaTarget& target) : target_(target) {
    auto url = parse_url(target.url);
    if (!url) {
      config_error_ = url.error();
      return;
    }
    path_ = url->path;
    if (url->https) {
      auto ssl = std::make_unique<httplib::SSLClient>(url->host, url->port);
      if (!target.ca_file.empty()) ssl->set_ca_cert_path(target.ca_file);
      ssl->enable_server_certificate_verification(!target.insecure_skip_verify);
      client_ = std::move(ssl);
    } else {
      client_ = std::make_unique<httplib::ClientImpl>(url->host, url->port);
    }
    client_->set_keep_alive(true);
    client_->set_follow_location(false);
    if (!target.user.empty()) client_->set_basic_auth(target.user, target.password);
  }

  Result<std::string> post(const std::string& body, Clock::time_point deadline) override {
    if (config_error_) return *config_error_;
    bool retry = false;
    auto reply = attempt(body, deadline, retry);
    if (retry && Clock::now() < deadline) reply = attempt(body, deadline, retry);
    return reply;
  }

 private:
  Result<std::string> attempt(const std::string& request_body, Clock::time_point deadline,
                              bool& retry) {
    retry = false;
    const auto start = Clock::now();
    if (start >= deadline)
      return Error{ErrorKind::kTimeout, "", "the deadline passed before the request"};
    const auto remaining = deadline - start;
    const auto read_timeout = at_most(target_.read_timeout, remaining);
    client_->set_connection_timeout(at_most(target_.connect_timeout, remaining));
    client_->set_read_timeout(read_timeout);
    client_->set_write_timeout(read_timeout);

    std::string reply;
    int status = 0;
    bool too_large = false, past_deadline = false, answered = false;
    std::size_t expected = 0;
    auto last_byte = start;
    const std::size_t max = target_.max_reply_bytes;

    httplib::Request req;
    req.method = "POST";
    req.path = path_;
    req.body = request_body;
    req.set_header("Content-Type", "application/json");
    req.response_handler = [&](const httplib::Response& res) {
      answered = true;
      status = res.status;
      last_byte = Clock::now();
      if (res.has_header("Content-Length")) {
        const std::string& length = res.get_header_value("Content-Length");
        std::uint64_t declared = 0;
        auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), declared);
        if (ec == std::errc() && end == length.data() + length.size()) {
          if (declared > max) {
            too_large = true;
            return false;
          }
          expected = static_cast<std::size_t>(declared);
          reply.reserve(expected);
        }
      }
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t length, std::uint64_t, std::uint64_t) {
      last_byte = Clock::now();
      if (last_byte >= deadline) {
        past_deadline = true;
        return false;
      }
      if (length > max - reply.size()) {
        too_large = true;
        return false;
      }
      reply.append(data, length);
      return true;
    };

    const bool reused = client_->is_socket_open() != 0;
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    bool sent = false;
    bool watchdog_fired = false;
    {
      Watchdog watchdog(*client_, deadline);
      sent = client_->send(req, res, error);
      watchdog_fired = watchdog.fired();
    }

    if (too_large) {
      client_->stop();  // the rest of the reply is still in flight: never reuse this connection
      return Error{ErrorKind::kReplyTooLarge, "",
                   "reply larger than " + std::to_string(max) +
                       " bytes (max_reply_bytes); transfer aborted"};
    }
    if (past_deadline || watchdog_fired) {
      client_->stop();
      return Error{ErrorKind::kTimeout, "", "no complete reply before the collection deadline"};
    }
    if (!sent) {
      switch (error) {
        case httplib::Error::Connection:
          return Error{ErrorKind::kConnect, "", "cannot connect to the agent"};
        case httplib::Error::ConnectionTimeout:
          return Error{ErrorKind::kTimeout, "", "connect timed out"};
        case httplib::Error::SSLConnection:
          return Error{ErrorKind::kConnect, "", "TLS handshake failed"};
        case httplib::Error::SSLServerVerification:
          return Error{ErrorKind::kConnect, "", "TLS: the agent's certificate is not trusted"};
        case httplib::Error::SSLLoadingCerts:
          return Error{ErrorKind::kConfig, "", "cannot load the CA file"};
        case httplib::Error::Read:
        case httplib::Error::Write: {
          const auto idle = Clock::now() - last_byte;
          if (idle + std::chrono::milliseconds(50) >= read_timeout) {
            // A silent agent is not a stale connection: no retry, or a stopped broker would
            // cost two read timeouts.
            return Error{ErrorKind::kTimeout, "",
                         answered ? "the agent stopped sending mid-reply (read timeout)"
                                  : "the agent did not answer (read timeout)"};
          }
          if (!answered && reused) retry = true;
          // httplib says Read both for a connection closed before a status line and for one
          // that is not HTTP: either way the agent gave no HTTP reply.
          if (!answered) {
            return Error{ErrorKind::kProtocol, "",
                         "no HTTP reply (the connection closed, or the answer was not HTTP)"};
          }
          return Error{ErrorKind::kProtocol, "",
                       "the reply ended early after " + std::to_string(reply.size()) + " bytes" +
                           (expected > 0 ? " of " + std::to_string(expected) : std::string())};
        }
        default:
          return Error{ErrorKind::kProtocol, "",
                       "HTTP request failed: " + httplib::to_string(error)};
      }
    }
    if (status == 200) return reply;
    if (status == 401 || status == 403) {
      return Error{ErrorKind::kAuth, "",
                   "HTTP " + std::to_string(status) +
                       (target_.user.empty() ? " (the agent wants credentials; none are configured)"
                                             : " (the agent refused user '" + target_.user + "')")};
    }
    return Error{ErrorKind::kProtocol, "", status_error_text(status, reply)};
  }

  JolokiaTarget target_;
  std::optional<Error> config_error_;
  std::string path_;
  std::unique_ptr<httplib::ClientImpl> client_;
};

}  // namespace

std::unique_ptr<JolokiaTransport> make_http_jolokia_transport(const JolokiaTarget& target) {
  return std::make_unique<HttpJolokiaTransport>(target);
}

}  // namespace khe::jmx
