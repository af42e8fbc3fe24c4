#ifndef RLREC_LAUNCH_CLI_CHILD_PROCESS_H_
#define RLREC_LAUNCH_CLI_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace rlrec::launch {

// A program started by the launcher. The child dies with the launcher (PR_SET_PDEATHSIG),
// so even a launcher killed with SIGKILL leaves no process behind. Not thread-safe.
class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`. Its stdout and stderr go to `log_path` (appended) when
  // given; with `capture`, to a pipe the caller reads through output_fd(); otherwise they
  // are inherited. Throws Error(kUnavailable) if it cannot start.
  ChildProcess(std::vector<std::string> argv, const std::string& log_path, bool capture);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Read end of the output pipe (capture mode), -1 otherwise or once closed.
  int output_fd() const { return output_fd_; }
  void CloseOutput();

  // Exit status if the child has ended (reaping it), nullopt while it runs. A child killed
  // by signal S reports 128 + S, as shells do.
  std::optional<int> Poll();
  // Sends `signal` unless the child has ended.
  void Signal(int signal);
  // Waits up to `seconds` for the child to end; returns its status, or nullopt.
  std::optional<int> WaitFor(double seconds);
  bool running() { return !Poll().has_value(); }
  const std::string& name() const { return name_; }

 private:
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::optional<int> status_;
  std::string name_;
};

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_CHILD_PROCESS_H_
