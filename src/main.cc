// kafka-hub-exporter: main thread parses flags and config (fail fast, exit 2), starts the
// collectors and the HTTP server, waits for SIGINT/SIGTERM, and stops in reverse order.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "khe/app/collector_runner.h"
#include "khe/app/logging.h"
#include "khe/config/config.h"
#include "khe/http/http_server.h"
#include "khe/jmx/jmx_collector.h"
#include "khe/kafka/kafka_worker.h"
#include "khe/kafka/lag_collector.h"
#include "khe/kafka/offsets_source.h"
#include "khe/kafka/probe_collector.h"
#include "khe/kafka/probe_worker.h"
#include "khe/metrics/self_metrics.h"
#include "khe/metrics/snapshot_store.h"
#include "khe/zookeeper/zookeeper_collector.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;
// SIGTERM must end the process within 5 s even if a collection is blocked in librdkafka.
constexpr auto kShutdownGrace = std::chrono::seconds(4);

std::string self_executable() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "kafka-hub-exporter";
  return std::string(path, static_cast<std::size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace khe;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = parse_flags(args);
  if (!flags) {
    std::cerr << "kafka-hub-exporter: " << flags.error().message << "\n";
    return kExitConfig;
  }
  if (flags->help) {
    std::cout << flags_usage();
    return 0;
  }
  if (flags->version) {
    std::cout << "kafka-hub-exporter " << KHE_VERSION << " (revision " << KHE_REVISION
              << ", librdkafka " << rdkafka_version() << ")\n";
    return 0;
  }
  auto config = build_config(*flags);
  if (!config) {
    std::cerr << "kafka-hub-exporter: " << config.error().message << "\n";
    return kExitConfig;
  }
  auto http_options = parse_listen_address(config->web.listen_address, HttpOptions{});
  if (!http_options) {
    std::cerr << "kafka-hub-exporter: web.listen_address: '" << config->web.listen_address
              << "': " << http_options.error().message << "\n";
    return kExitConfig;
  }
  if (config->kafka_enabled || config->probe_enabled) {
    if (auto error = validate_rdkafka_properties(config->kafka)) {
      std::cerr << "kafka-hub-exporter: " << error->message << "\n";
      return kExitConfig;
    }
  }
  if (flags->kafka_worker) {
    setup_logging(config->log);
    return run_kafka_worker(config->kafka);
  }
  if (flags->probe_worker) {
    setup_logging(config->log);
    return run_probe_worker(config->kafka, config->probe);
  }
  setup_logging(config->log);
  // The rules file is part of the configuration: a bad one fails here, before anything starts.
  std::unique_ptr<JmxCollector> jmx_collector;
  if (config->jmx_enabled) {
    auto created = JmxCollector::create(config->jmx);
    if (!created) {
      std::cerr << "kafka-hub-exporter: " << created.error().message << "\n";
      return kExitConfig;
    }
    jmx_collector = std::move(created).value();
  }
  if (flags->check_config) {
    std::cout << "# configuration OK\n" << describe_config(*config);
    if (jmx_collector) {
      std::cout << "# JMX bulk read per poll (" << jmx_collector->reads().size() << " patterns):\n";
      for (const auto& read : jmx_collector->reads()) {
        std::cout << "#   " << read.mbean;
        if (!read.attributes.empty()) {
          std::cout << " [";
          for (std::size_t i = 0; i < read.attributes.size(); ++i) {
            std::cout << (i ? ", " : "") << read.attributes[i];
          }
          std::cout << "]";
        } else {
          std::cout << " (all attributes)";
        }
        std::cout << "\n";
      }
    }
    return 0;
  }
  // Few malloc arenas: the exporter's threads mostly wait, and per-thread arenas would keep
  // freed snapshot memory resident.
  mallopt(M_ARENA_MAX, 2);
  // Snapshot buffers are megabytes: a fixed mmap threshold returns them to the system when freed
  // instead of letting glibc raise the threshold and keep them in a fragmented heap.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  // Writes to a dead worker's pipe must fail with EPIPE, not kill the exporter.
  std::signal(SIGPIPE, SIG_IGN);
  // Signals go to sigwait() in main only; every thread created below inherits this mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SelfMetrics self_metrics({{"librdkafka", rdkafka_version()}});
  SnapshotStore store;
  std::vector<std::unique_ptr<Collector>> collectors;
  if (config->kafka_enabled) {
    if (flags->once) {
      // One poll and exit: no process to protect, so gather in-process.
      auto source = make_rdkafka_offsets_source(config->kafka);
      if (!source) {
        std::cerr << "kafka-hub-exporter: " << source.error().to_string() << "\n";
        return kExitConfig;
      }
      collectors.push_back(
          std::make_unique<LagCollector>(config->kafka, std::move(source).value()));
    } else {
      // librdkafka runs in a worker process started from this binary with the same flags.
      std::vector<std::string> worker_argv{self_executable()};
      worker_argv.insert(worker_argv.end(), args.begin(), args.end());
      worker_argv.push_back("--internal.kafka-worker");
      collectors.push_back(std::make_unique<LagCollector>(
          config->kafka, std::make_unique<WorkerViewSource>(std::move(worker_argv))));
    }
  }

  if (config->probe_enabled) {
    if (flags->once) {
      // One collection has nothing to report yet: the probe measures over time.
      spdlog::info("the end-to-end probe does not run with --once");
    } else {
      // The probe's librdkafka clients run in a second worker process, like the Kafka
      // collector's, so that neither can take the other (or the exporter) down.
      std::vector<std::string> worker_argv{self_executable()};
      worker_argv.insert(worker_argv.end(), args.begin(), args.end());
      worker_argv.push_back("--internal.probe-worker");
      collectors.push_back(std::make_unique<ProbeCollector>(
          config->probe, std::make_unique<WorkerProbeSource>(std::move(worker_argv))));
    }
  }

  if (config->zookeeper_enabled) {
    // Four-letter words are plain TCP and the C client is read-only: both run in-process.
    collectors.push_back(std::make_unique<ZookeeperCollector>(config->zookeeper));
  }

  if (jmx_collector) collectors.push_back(std::move(jmx_collector));

  boost::asio::io_context io;
  std::vector<std::unique_ptr<CollectorRunner>> runners;
  for (auto& c : collectors) {
    runners.push_back(std::make_unique<CollectorRunner>(io, *c, store, self_metrics));
  }

  if (flags->once) {
    bool all_ok = true;
    for (auto& r : runners) all_ok = r->run_once() && all_ok;
    std::cout << store.current()->text() << self_metrics.render();
    return all_ok ? 0 : kExitFailure;
  }

  auto ready = [&runners] {
    for (const auto& r : runners) {
      if (!r->succeeded()) return false;
    }
    return true;
  };
  http_options.value().telemetry_path = config->web.telemetry_path;
  http_options.value().threads = config->web.threads;
  HttpServer http(http_options.value(), store, self_metrics, ready);
  auto port = http.start();
  if (!port) {
    spdlog::error("cannot start the HTTP server: {}", port.error().to_string());
    return kExitFailure;
  }
  spdlog::info("kafka-hub-exporter {} listening on {}:{}{} collectors={}", KHE_VERSION,
               http_options->listen_host, port.value(), config->web.telemetry_path, runners.size());

  auto work = boost::asio::make_work_guard(io);
  // One thread per collector: a collection blocks its thread (librdkafka calls are
  // synchronous with deadlines), and collectors must not delay each other.
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, runners.size()); ++i) {
    pool.emplace_back([&io] { io.run(); });
  }
  for (auto& r : runners) r->start();

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");

  http.stop();
  for (auto& r : runners) r->stop();
  work.reset();
  auto joined = std::async(std::launch::async, [&pool] {
    for (auto& t : pool) t.join();
  });
  if (joined.wait_for(kShutdownGrace) != std::future_status::ready) {
    // A collection is still inside a blocking librdkafka call; its result is no longer wanted.
    spdlog::warn("a collection is still running; exiting without waiting for it");
    spdlog::shutdown();
    std::_Exit(0);
  }
  spdlog::info("stopped");
  return 0;
}
