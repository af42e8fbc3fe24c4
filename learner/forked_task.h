#ifndef RLREC_LEARNER_FORKED_TASK_H_
#define RLREC_LEARNER_FORKED_TASK_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "common/base/deadline.h"

namespace rlrec::learner {

// Runs a task, one at a time, in a forked child process: the child sees this process's memory
// as it was at the fork (copy-on-write: pages are copied only when the parent then writes to
// them), so the parent goes on changing its memory at once while the child reads a consistent
// view. What a learner writes its checkpoints with: the training pause is the fork alone.
//
// The child has only the forking thread: its task must not wait for locks other threads may
// have held at the fork (no logging, no sockets, no MPI, no CUDA), and it ends with _exit (no
// destructors, no atexit handlers). It runs LibTorch on one thread. Not thread-safe.
class ForkedTask {
 public:
  struct Outcome {
    bool ok = false;
    std::string error;        // what the task threw, or how the child ended
    double seconds = 0;       // from the fork to the child's end
    double fork_seconds = 0;  // what the fork cost the caller
  };

  ForkedTask() = default;
  // Waits for a running child (it is writing a file someone will want).
  ~ForkedTask();
  ForkedTask(const ForkedTask&) = delete;
  ForkedTask& operator=(const ForkedTask&) = delete;

  // Forks; the child runs `task` and exits with status 0, or 1 after sending the message of what
  // it threw. Throws Error(kUnavailable) when the fork fails, Error(kInternal) while a task
  // still runs.
  void Start(const std::function<void()>& task);
  bool running() const { return pid_ > 0; }

  // The outcome once the running child has ended (reaped), nullopt while it runs or when none
  // runs.
  std::optional<Outcome> Poll();
  // Waits until `deadline` for the running child; nullopt when none runs or it still runs then.
  std::optional<Outcome> Wait(common::Deadline deadline);

 private:
  std::optional<Outcome> Reap(int options);

  pid_t pid_ = -1;
  int pipe_ = -1;  // read end: the child's error message
  common::Clock::time_point started_;
  double fork_seconds_ = 0;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_FORKED_TASK_H_
