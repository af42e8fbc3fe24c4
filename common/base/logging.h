#ifndef RLREC_COMMON_BASE_LOGGING_H_
#define RLREC_COMMON_BASE_LOGGING_H_

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace rlrec::common {

enum class LogLevel { kInfo, kWarning, kError };

// One log line, written whole to stderr when destroyed, prefixed with the time and the
// process name. Thread-safe: each line is a single write.
class LogLine {
 public:
  explicit LogLine(LogLevel level);
  ~LogLine();
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// `text` as it may go into a log line: at most `max_chars` characters, anything but printable
// ASCII as \xNN, so that what a peer sends cannot forge or break log lines.
std::string Printable(std::string_view text, size_t max_chars = 64);

// Lets at most `burst` lines through per `period_s` seconds and counts the ones it holds back,
// so that a flood of bad input cannot flood the log. Not thread-safe.
class LogLimiter {
 public:
  explicit LogLimiter(int burst = 5, double period_s = 10.0);

  // Whether a line may be written at `now`. When it may, TakeSuppressed() says how many were
  // held back since the last one written, for the caller to mention, and restarts that count.
  bool Allow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  uint64_t TakeSuppressed();

 private:
  int burst_;
  std::chrono::steady_clock::duration period_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace rlrec::common

#define RLREC_LOG(level) ::rlrec::common::LogLine(::rlrec::common::LogLevel::k##level).stream()

#endif  // RLREC_COMMON_BASE_LOGGING_H_
