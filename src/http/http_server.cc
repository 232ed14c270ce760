#include "khe/http/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <string_view>

#include "khe/metrics/self_metrics.h"
#include "khe/metrics/snapshot_store.h"
#include "khe/metrics/text_format.h"

namespace khe {
namespace {

constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

bool accepts_gzip(const httplib::Request& req) {
  auto header = req.get_header_value("Accept-Encoding");
  return header.find("gzip") != std::string::npos;
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  const SnapshotStore& store;
  SelfMetrics& self_metrics;
  std::function<bool()> ready;
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer(HttpOptions options, const SnapshotStore& store, SelfMetrics& self_metrics,
                       std::function<bool()> ready)
    : impl_(new Impl{std::move(options), store, self_metrics, std::move(ready), {}, {}}) {}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::start() {
  Impl& impl = *impl_;
  int threads = impl.options.threads;
  impl.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Scrapers reconnect cheaply; short keep-alive stops idle connections from pinning threads.
  impl.server.set_keep_alive_timeout(2);
  impl.server.set_read_timeout(5, 0);
  impl.server.set_write_timeout(10, 0);

  impl.server.Get(impl.options.telemetry_path, [&impl](const httplib::Request& req,
                                                       httplib::Response& res) {
    // The body is the store's ready parts (shared, not copied) followed by the small
    // self-metrics part rendered now. With gzip every part is a complete gzip member, and
    // their concatenation is one valid gzip stream.
    struct Body {
      std::shared_ptr<const Exposition> exposition;
      std::string self;
      bool gzip;
      std::vector<std::string_view> pieces;
    };
    auto body = std::make_shared<Body>();
    body->exposition = impl.store.current();
    body->gzip = accepts_gzip(req);
    body->self = impl.self_metrics.render();
    if (body->gzip) body->self = gzip_compress(body->self, 1);
    impl.self_metrics.count_scrape(body->gzip ? "gzip" : "identity");
    std::size_t total = body->self.size();
    for (const auto& part : body->exposition->parts) {
      body->pieces.emplace_back(body->gzip ? part->gzip : part->text);
      total += body->pieces.back().size();
    }
    body->pieces.emplace_back(body->self);
    if (body->gzip) res.set_header("Content-Encoding", "gzip");
    // A sized content provider: httplib sends it as is (it only compresses plain bodies and
    // chunked providers, which would gzip our gzip a second time).
    res.set_content_provider(
        total, kTextContentType,
        [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          std::size_t piece_start = 0;
          for (std::string_view piece : body->pieces) {
            if (length == 0) break;
            std::size_t piece_end = piece_start + piece.size();
            if (offset < piece_end) {
              std::size_t from = offset - piece_start;
              std::size_t n = std::min(length, piece.size() - from);
              if (!sink.write(piece.data() + from, n)) return false;
              offset += n;
              length -= n;
            }
            piece_start = piece_end;
          }
          return length == 0;
        });
  });
  impl.server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  impl.server.Get("/readyz", [&impl](const httplib::Request&, httplib::Response& res) {
    if (impl.ready()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: no successful collection yet\n", "text/plain");
    }
  });
  impl.server.Get("/", [&impl](const httplib::Request&, httplib::Response& res) {
    const auto& path = impl.options.telemetry_path;
    res.set_content(
        "<html><head><title>kafka-hub-exporter</title></head><body>"
        "<h1>kafka-hub-exporter</h1><ul>"
        "<li><a href=\"" + path + "\">" + path + "</a></li>"
        "<li><a href=\"/healthz\">/healthz</a></li>"
        "<li><a href=\"/readyz\">/readyz</a></li></ul></body></html>\n",
        "text/html; charset=utf-8");
  });

  int port = impl.options.listen_port;
  if (port == 0) {
    port = impl.server.bind_to_any_port(impl.options.listen_host);
    if (port < 0) port = -1;
  } else if (!impl.server.bind_to_port(impl.options.listen_host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Error{ErrorKind::kConfig,
                 impl.options.listen_host + ":" + std::to_string(impl.options.listen_port),
                 "cannot listen (address in use or not available)"};
  }
  impl.thread = std::thread([&impl] { impl.server.listen_after_bind(); });
  return port;
}

void HttpServer::stop() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

Result<HttpOptions> parse_listen_address(const std::string& address, HttpOptions base) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Error{ErrorKind::kConfig, address, "listen address must be host:port or :port"};
  }
  std::string host = address.substr(0, colon);
  std::string port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(port_text, &used);
    if (used != port_text.size()) port = -1;
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return Error{ErrorKind::kConfig, address, "port must be a number from 0 to 65535"};
  }
  base.listen_host = host;
  base.listen_port = port;
  return base;
}

}  // namespace khe
