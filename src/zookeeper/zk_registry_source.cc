// KafkaRegistrySource on the ZooKeeper C client (libzookeeper_mt): the only file that includes
// zookeeper.h. Read-only: it never creates, changes or deletes a znode and sets no watches.
//
// The C client completes every asynchronous call exactly once, also when the session is lost
// or the handle is closed (ZCLOSING). Each call therefore owns a shared_ptr to its result box,
// so a poll that gives up waiting at its deadline leaves nothing dangling.
#include <spdlog/spdlog.h>
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>

#include "khe/zookeeper/kafka_registry.h"

namespace khe {
namespace {

using Clock = std::chrono::steady_clock;

// Our session holds no ephemeral znodes, so its length only decides how long the ensemble
// keeps it after we vanish.
constexpr int kSessionTimeoutMs = 10'000;

void forward_client_log(const char* message) { spdlog::debug("zookeeper client: {}", message); }

// The session state reported by the C client's watcher thread.
struct SessionState {
  std::mutex mu;
  std::condition_variable changed;
  int state = 0;  // guarded by mu
};

void session_watcher(zhandle_t*, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT || context == nullptr) return;
  auto* session = static_cast<SessionState*>(context);
  {
    std::lock_guard<std::mutex> lock(session->mu);
    session->state = state;
  }
  session->changed.notify_all();
}

// The result of one asynchronous read, filled by a C client thread.
struct Call {
  std::mutex mu;
  std::condition_variable finished;
  bool done = false;                  // guarded by mu
  int rc = ZOK;                       // guarded by mu
  std::string data;                   // guarded by mu
  std::vector<std::string> children;  // guarded by mu
  std::string path;                   // set before the call starts, read-only after

  // Waits until the call completed or `deadline`; false on timeout.
  bool wait(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu);
    return finished.wait_until(lock, deadline, [this] { return done; });
  }
};

using CallBox = std::shared_ptr<Call>;

CallBox take_box(const void* data) {
  std::unique_ptr<CallBox> holder(static_cast<CallBox*>(const_cast<void*>(data)));
  return *holder;
}

void data_done(int rc, const char* value, int value_len, const struct Stat*, const void* data) {
  auto call = take_box(data);
  {
    std::lock_guard<std::mutex> lock(call->mu);
    call->rc = rc;
    if (rc == ZOK && value != nullptr && value_len > 0) {
      call->data.assign(value, static_cast<std::size_t>(value_len));
    }
    call->done = true;
  }
  call->finished.notify_all();
}

void children_done(int rc, const struct String_vector* strings, const void* data) {
  auto call = take_box(data);
  {
    std::lock_guard<std::mutex> lock(call->mu);
    call->rc = rc;
    if (rc == ZOK && strings != nullptr) {
      for (int i = 0; i < strings->count; ++i) call->children.emplace_back(strings->data[i]);
    }
    call->done = true;
  }
  call->finished.notify_all();
}

void auth_done(int, const void*) {}  // a refused auth shows up as ZOO_AUTH_FAILED_STATE

std::string state_name(int state) {
  if (state == ZOO_CONNECTED_STATE) return "connected";
  if (state == ZOO_CONNECTING_STATE) return "connecting";
  if (state == ZOO_ASSOCIATING_STATE) return "associating";
  if (state == ZOO_EXPIRED_SESSION_STATE) return "session expired";
  if (state == ZOO_AUTH_FAILED_STATE) return "authentication failed";
  return "not connected";
}

class ZookeeperRegistrySource final : public KafkaRegistrySource {
 public:
  explicit ZookeeperRegistrySource(ZookeeperOptions options) : options_(std::move(options)) {
    for (const auto& s : options_.servers)
      connect_string_ += (connect_string_.empty() ? "" : ",") + s;
    connect_string_ += options_.chroot;
    target_ = connect_string_;
  }
  ~ZookeeperRegistrySource() override { close(); }
  ZookeeperRegistrySource(const ZookeeperRegistrySource&) = delete;
  ZookeeperRegistrySource& operator=(const ZookeeperRegistrySource&) = delete;

  Result<KafkaRegistry> read(Clock::time_point deadline) override {
    if (handle_ != nullptr) {
      int state = current_state();
      if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) close();
    }
    if (handle_ == nullptr) {
      if (auto error = open()) return *error;
    }
    auto connect_deadline = std::min(deadline, Clock::now() + options_.connect_timeout);
    int state = 0;
    {
      std::unique_lock<std::mutex> lock(session_.mu);
      session_.changed.wait_until(lock, connect_deadline, [this] {
        return session_.state == ZOO_CONNECTED_STATE || session_.state == ZOO_AUTH_FAILED_STATE ||
               session_.state == ZOO_EXPIRED_SESSION_STATE;
      });
      state = session_.state;
    }
    if (state == ZOO_AUTH_FAILED_STATE) {
      return Error{ErrorKind::kAuth, target_, "ZooKeeper refused the credentials"};
    }
    if (state != ZOO_CONNECTED_STATE) {
      return Error{ErrorKind::kConnect, target_,
                   "no ZooKeeper session within " +
                       std::to_string(options_.connect_timeout.count()) + "ms (" +
                       state_name(state) + ")"};
    }
    auto read_deadline = std::min(deadline, Clock::now() + options_.read_timeout);

    auto ids = start_children("/brokers/ids");
    auto controller = start_get("/controller");
    auto epoch = start_get("/controller_epoch");
    if (!ids.ok()) return ids.error();
    if (!controller.ok()) return controller.error();
    if (!epoch.ok()) return epoch.error();

    KafkaRegistry registry;
    auto children = finish(*ids, read_deadline);
    if (!children.ok()) return children.error();
    std::vector<std::pair<int, CallBox>> brokers;
    for (const auto& child : children->children) {
      int id = 0;
      try {
        std::size_t used = 0;
        id = std::stoi(child, &used);
        if (used != child.size()) continue;
      } catch (...) {
        continue;  // not a broker id: not Kafka's
      }
      auto call = start_get("/brokers/ids/" + child);
      if (!call.ok()) return call.error();
      brokers.emplace_back(id, *call);
    }
    for (auto& [id, call] : brokers) {
      auto done = finish(call, read_deadline);
      if (!done.ok()) {
        if (done.error().kind == ErrorKind::kMetadata &&
            done.error().message.find("no node") != std::string::npos) {
          continue;  // deregistered between listing and reading
        }
        return done.error();
      }
      auto parsed = parse_broker_registration(id, done->data);
      if (!parsed.ok()) {
        return Error{ErrorKind::kProtocol, target_,
                     "/brokers/ids/" + std::to_string(id) + ": " + parsed.error().message};
      }
      registry.brokers.push_back(parsed.value());
    }
    std::sort(registry.brokers.begin(), registry.brokers.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });

    auto controller_done = finish(*controller, read_deadline, /*missing_ok=*/true);
    if (!controller_done.ok()) return controller_done.error();
    if (controller_done->rc == ZOK) {
      auto parsed = parse_controller(controller_done->data);
      if (!parsed.ok()) {
        return Error{ErrorKind::kProtocol, target_, "/controller: " + parsed.error().message};
      }
      registry.controller_id = parsed.value();
    }
    auto epoch_done = finish(*epoch, read_deadline, /*missing_ok=*/true);
    if (!epoch_done.ok()) return epoch_done.error();
    if (epoch_done->rc == ZOK) {
      auto parsed = parse_controller_epoch(epoch_done->data);
      if (!parsed.ok()) {
        return Error{ErrorKind::kProtocol, target_, "/controller_epoch: " + parsed.error().message};
      }
      registry.controller_epoch = parsed.value();
    }
    return registry;
  }

 private:
  struct Finished {
    int rc = ZOK;
    std::string data;
    std::vector<std::string> children;
  };

  int current_state() {
    std::lock_guard<std::mutex> lock(session_.mu);
    return session_.state;
  }

  std::optional<Error> open() {
    {
      std::lock_guard<std::mutex> lock(session_.mu);
      session_.state = 0;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
    handle_ = zookeeper_init2(connect_string_.c_str(), session_watcher, kSessionTimeoutMs, nullptr,
                              &session_, 0, forward_client_log);
    if (handle_ == nullptr) {
      return Error{ErrorKind::kConnect, target_,
                   std::string("cannot create a ZooKeeper client: ") + std::strerror(errno)};
    }
    if (options_.auth) {
      auto credentials = options_.auth->user + ":" + options_.auth->password;
      int rc = zoo_add_auth(handle_, options_.auth->scheme.c_str(), credentials.data(),
                            static_cast<int>(credentials.size()), auth_done, nullptr);
      if (rc != ZOK) {
        close();
        return Error{ErrorKind::kAuth, target_,
                     std::string("cannot add credentials: ") + zerror(rc)};
      }
    }
    return std::nullopt;
  }

  void close() {
    if (handle_ == nullptr) return;
    // Completes every pending call with ZCLOSING; the boxes keep their memory alive.
    zookeeper_close(handle_);
    handle_ = nullptr;
  }

  Result<CallBox> start_get(const std::string& path) {
    auto call = std::make_shared<Call>();
    call->path = path;
    auto* box = new CallBox(call);
    int rc = zoo_aget(handle_, path.c_str(), 0, data_done, box);
    if (rc != ZOK) {
      delete box;  // not queued: the completion will never run
      return Error{ErrorKind::kConnect, target_, path + ": " + zerror(rc)};
    }
    return call;
  }

  Result<CallBox> start_children(const std::string& path) {
    auto call = std::make_shared<Call>();
    call->path = path;
    auto* box = new CallBox(call);
    int rc = zoo_aget_children(handle_, path.c_str(), 0, children_done, box);
    if (rc != ZOK) {
      delete box;
      return Error{ErrorKind::kConnect, target_, path + ": " + zerror(rc)};
    }
    return call;
  }

  Result<Finished> finish(const CallBox& call, Clock::time_point deadline,
                          bool missing_ok = false) {
    if (!call->wait(deadline)) {
      return Error{ErrorKind::kTimeout, target_, call->path + ": no answer before the deadline"};
    }
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->rc == ZNONODE && missing_ok) return Finished{call->rc, {}, {}};
    if (call->rc == ZNOAUTH) {
      return Error{ErrorKind::kAuth, target_, call->path + ": " + zerror(call->rc)};
    }
    if (call->rc != ZOK) {
      return Error{ErrorKind::kMetadata, target_, call->path + ": " + zerror(call->rc)};
    }
    return Finished{call->rc, call->data, call->children};
  }

  ZookeeperOptions options_;
  std::string connect_string_;
  std::string target_;
  SessionState session_;  // outlives handle_: the watcher's context
  zhandle_t* handle_ = nullptr;
};

}  // namespace

std::unique_ptr<KafkaRegistrySource> make_zookeeper_registry_source(
    const ZookeeperOptions& options) {
  return std::make_unique<ZookeeperRegistrySource>(options);
}

}  // namespace khe
