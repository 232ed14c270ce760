// WorkerProcess: librdkafka runs in child processes started from this binary, never in the
// process that serves /metrics. librdkafka 2.0.2 can abort the whole process on an ordinary
// broker restart (an assertion in its admin coordinator path, librdkafka issues #3663/#4605);
// a child that aborts costs one collection, not the exporter.
//
// The protocol is one request, one answer: the exporter writes the time the worker may take
// (int64 milliseconds) to the child's stdin; the child answers on its stdout with a uint64 size
// and that many bytes (an encoding the caller chooses). If the child dies, answers garbage or
// misses the deadline, call() returns an Error, the child is killed and reaped, and the next
// call() starts a fresh one. Children die with the exporter (PR_SET_PDEATHSIG).
//
// Exporter side: WorkerProcess, thread-compatible (one collector calls it at a time).
// Worker side: tie_to_parent() and serve_requests(), on the worker's fds 0 and 1.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "khe/core/error.h"

namespace khe {

class WorkerProcess {
 public:
  // How much longer than the deadline the worker may take to answer before it is killed.
  static constexpr std::chrono::milliseconds kGrace{2000};

  // `name` names the worker in errors and logs ("kafka worker", "probe worker"); `argv` starts
  // it (argv[0] is the executable's path).
  WorkerProcess(std::string name, std::vector<std::string> argv);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Starts the worker if it is not running, sends one request and returns the answer's bytes.
  // Errors: kWorker (could not start, died, oversized answer), kTimeout (no answer by
  // deadline + kGrace).
  Result<std::string> call(std::chrono::steady_clock::time_point deadline);
  // How often a worker was started; the first start counts.
  int starts() const { return starts_; }

 private:
  std::optional<Error> start();
  // Kills and reaps the worker; returns how it ended, e.g. "killed by signal 6 (Aborted)".
  std::string stop();

  std::string name_;
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int to_worker_ = -1;
  int from_worker_ = -1;
  int starts_ = 0;
};

// Worker side, first thing in the worker's main: the worker gets SIGKILL when the exporter dies.
// Returns false if the exporter is already gone.
bool tie_to_parent();

// Worker side: answers requests on fds 0 and 1 until the exporter closes the pipe. `answer`
// gets the deadline of one request and returns the bytes to send back.
void serve_requests(
    const std::function<std::string(std::chrono::steady_clock::time_point deadline)>& answer);

}  // namespace khe
