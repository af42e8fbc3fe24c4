#include "learner/forked_task.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "common/base/error.h"

namespace rlrec::learner {

ForkedTask::~ForkedTask() {
  if (running()) Wait(common::After(common::kMaxWaitSeconds));
}

void ForkedTask::Start(const std::function<void()>& task) {
  if (running()) throw common::Internal("a forked task is still running");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw common::Unavailable(std::string("pipe2(): ") + std::strerror(errno));
  }
  started_ = common::Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    throw common::Unavailable(std::string("fork(): ") + std::strerror(error));
  }
  if (pid == 0) {
    close(fds[0]);
    int status = 0;
    try {
      // The parent's worker threads are not here: parallel regions would wait for them.
      at::set_num_threads(1);
      task();
    } catch (const std::exception& e) {
      const std::string message = e.what();
      status = 1;
      if (write(fds[1], message.data(), message.size()) < 0) status = 2;
    } catch (...) {
      status = 1;
    }
    _exit(status);
  }
  close(fds[1]);
  pid_ = pid;
  pipe_ = fds[0];
  fork_seconds_ = common::SecondsSince(started_);
}

std::optional<ForkedTask::Outcome> ForkedTask::Reap(int options) {
  if (!running()) return std::nullopt;
  int status = 0;
  pid_t done;
  do {
    done = waitpid(pid_, &status, options);
  } while (done < 0 && errno == EINTR);
  if (done == 0) return std::nullopt;  // still running
  Outcome outcome;
  outcome.seconds = common::SecondsSince(started_);
  outcome.fork_seconds = fork_seconds_;
  if (done < 0) {
    outcome.error = std::string("waitpid(): ") + std::strerror(errno);
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    outcome.ok = true;
  } else {
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_, buffer, sizeof(buffer))) > 0) outcome.error.append(buffer, n);
    if (outcome.error.empty()) {
      outcome.error =
          WIFSIGNALED(status)
              ? "the writing process was killed by signal " + std::to_string(WTERMSIG(status))
              : "the writing process exited with status " + std::to_string(WEXITSTATUS(status));
    }
  }
  close(pipe_);
  pipe_ = -1;
  pid_ = -1;
  return outcome;
}

std::optional<ForkedTask::Outcome> ForkedTask::Poll() { return Reap(WNOHANG); }

std::optional<ForkedTask::Outcome> ForkedTask::Wait(common::Deadline deadline) {
  while (running()) {
    if (auto outcome = Reap(WNOHANG)) return outcome;
    if (common::Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

}  // namespace rlrec::learner
