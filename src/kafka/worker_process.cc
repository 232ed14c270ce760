#include "khe/kafka/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace khe {
namespace {

using Clock = std::chrono::steady_clock;

// An answer larger than this is not an answer but a broken worker.
constexpr std::uint64_t kMaxAnswerBytes = 1ull << 30;

bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// write_all() to a pipe whose reader may be dead, without the SIGPIPE that would end the whole
// process: the signal is blocked for this thread and a pending one is consumed.
bool write_all_no_sigpipe(int fd, const void* data, std::size_t size) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  bool ok = write_all(fd, data, size);
  if (!ok && errno == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return ok;
}

// Blocking read of exactly `size` bytes; false on EOF or error.
bool read_all(int fd, void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

enum class ReadStatus { kOk, kEof, kTimeout };

// Reads exactly `size` bytes before `deadline`.
ReadStatus read_until(int fd, char* data, std::size_t size, Clock::time_point deadline) {
  while (size > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ReadStatus::kTimeout;
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return ReadStatus::kEof;
    if (rc == 0) continue;
    ssize_t n = ::read(fd, data, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return ReadStatus::kEof;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return ReadStatus::kOk;
}

}  // namespace

bool tie_to_parent() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The exporter may have died before the line above: then this process is an orphan.
  return getppid() != 1;
}

void serve_requests(const std::function<std::string(Clock::time_point deadline)>& answer) {
  while (true) {
    std::int64_t budget_ms = 0;
    if (!read_all(0, &budget_ms, sizeof(budget_ms))) return;  // the exporter closed the pipe
    auto deadline = Clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(budget_ms, 1));
    std::string bytes = answer(deadline);
    std::uint64_t size = bytes.size();
    if (!write_all(1, &size, sizeof(size)) || !write_all(1, bytes.data(), bytes.size())) return;
  }
}

WorkerProcess::WorkerProcess(std::string name, std::vector<std::string> argv)
    : name_(std::move(name)), argv_(std::move(argv)) {}

WorkerProcess::~WorkerProcess() { stop(); }

std::optional<Error> WorkerProcess::start() {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    return Error{ErrorKind::kWorker, name_, std::string("pipe: ") + std::strerror(errno)};
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return Error{ErrorKind::kWorker, name_, std::string("pipe: ") + std::strerror(errno)};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  // The exporter blocks SIGINT/SIGTERM for sigwait(); the worker gets a clean mask and is
  // stopped by its parent (or by PR_SET_PDEATHSIG), not by the signals meant for the exporter.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    return Error{ErrorKind::kWorker, name_,
                 std::string("cannot start ") + argv_[0] + ": " + std::strerror(rc)};
  }
  pid_ = pid;
  to_worker_ = in[1];
  from_worker_ = out[0];
  ++starts_;
  spdlog::debug("{} started pid={}", name_, pid_);
  return std::nullopt;
}

std::string WorkerProcess::stop() {
  if (pid_ < 0) return "not running";
  ::close(to_worker_);
  ::close(from_worker_);
  to_worker_ = from_worker_ = -1;
  int status = 0;
  pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

Result<std::string> WorkerProcess::call(Clock::time_point deadline) {
  if (pid_ < 0) {
    if (auto error = start()) return *error;
  }
  auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  std::int64_t budget_ms = std::max<std::int64_t>(budget.count(), 1);
  if (!write_all_no_sigpipe(to_worker_, &budget_ms, sizeof(budget_ms))) {
    std::string how = stop();
    return Error{ErrorKind::kWorker, name_, "the worker was gone (" + how + ")"};
  }
  auto answer_deadline = deadline + kGrace;
  std::uint64_t size = 0;
  auto status =
      read_until(from_worker_, reinterpret_cast<char*>(&size), sizeof(size), answer_deadline);
  std::string answer;
  if (status == ReadStatus::kOk) {
    if (size > kMaxAnswerBytes) {
      std::string how = stop();
      return Error{ErrorKind::kWorker, name_,
                   "answer of " + std::to_string(size) + " bytes refused; worker " + how};
    }
    answer.resize(size);
    status = read_until(from_worker_, answer.data(), answer.size(), answer_deadline);
  }
  if (status == ReadStatus::kTimeout) {
    std::string how = stop();
    return Error{ErrorKind::kTimeout, name_,
                 "no answer within the deadline plus " + std::to_string(kGrace.count()) +
                     " ms; worker " + how};
  }
  if (status == ReadStatus::kEof) {
    std::string how = stop();
    spdlog::error("{} died ({}); a new one starts with the next collection", name_, how);
    return Error{ErrorKind::kWorker, name_, "the worker died during the request (" + how + ")"};
  }
  return answer;
}

}  // namespace khe
