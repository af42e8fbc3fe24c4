#include "launch/cli/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "common/base/error.h"

namespace rlrec::launch {

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& log_path, bool capture)
    : name_(argv.at(0)) {
  int log_fd = -1;
  if (!log_path.empty()) {
    log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      throw common::Unavailable("cannot open log '" + log_path + "': " + std::strerror(errno));
    }
  }
  int pipe_fds[2] = {-1, -1};
  if (capture && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw common::Unavailable(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw common::Unavailable(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the launcher died before prctl took effect
    int out = capture ? pipe_fds[1] : log_fd;
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    ::execv(args[0], args.data());
    const char message[] = "rlrec: exec failed\n";
    ssize_t unused = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)unused;
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (capture) {
    ::close(pipe_fds[1]);
    output_fd_ = pipe_fds[0];
  }
}

ChildProcess::~ChildProcess() {
  if (!Poll()) {
    Signal(SIGKILL);
    WaitFor(5.0);
  }
  CloseOutput();
}

void ChildProcess::CloseOutput() {
  if (output_fd_ >= 0) ::close(output_fd_);
  output_fd_ = -1;
}

std::optional<int> ChildProcess::Poll() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return status_;
}

void ChildProcess::Signal(int signal) {
  if (!Poll()) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::WaitFor(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!Poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

}  // namespace rlrec::launch
