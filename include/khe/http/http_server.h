// HTTP front end: /metrics (text format 0.0.4, gzip when asked), /healthz, /readyz and an index.
//
// It only reads the SnapshotStore and the SelfMetrics; it does not know any source exists, so a
// scrape costs a pointer copy plus a write of ready bytes. Serving runs on its own thread pool.
// start() and stop() are called from the main thread; handlers are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "khe/core/error.h"

namespace khe {

class SnapshotStore;
class SelfMetrics;

struct HttpOptions {
  std::string listen_host = "0.0.0.0";
  int listen_port = 7071;  // 0 picks a free port
  std::string telemetry_path = "/metrics";
  int threads = 16;
};

class HttpServer {
 public:
  HttpServer(HttpOptions options, const SnapshotStore& store, SelfMetrics& self_metrics,
             std::function<bool()> ready);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving in the background. Returns the bound port.
  Result<int> start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses "host:port", ":port" (all interfaces) or "[v6]:port".
Result<HttpOptions> parse_listen_address(const std::string& address, HttpOptions base);

}  // namespace khe
