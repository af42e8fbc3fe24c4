#include "common/base/logging.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "common/base/check.h"

namespace rlrec::common {

LogLine::LogLine(LogLevel level) : level_(level) {}

LogLine::~LogLine() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  const char* tag = level_ == LogLevel::kInfo      ? ""
                    : level_ == LogLevel::kWarning ? " warning:"
                                                   : " error:";
  std::string line =
      std::string("[") + stamp + " " + ProcessName() + "]" + tag + " " + stream_.str() + "\n";
  // One write per line keeps lines from different threads and processes whole.
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

std::string Printable(std::string_view text, size_t max_chars) {
  std::string out;
  for (size_t i = 0; i < text.size() && out.size() < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
      out += escaped;
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

LogLimiter::LogLimiter(int burst, double period_s)
    : burst_(burst),
      period_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(period_s))) {}

bool LogLimiter::Allow(std::chrono::steady_clock::time_point now) {
  if (in_window_ == 0 || now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  return true;
}

uint64_t LogLimiter::TakeSuppressed() {
  const uint64_t n = suppressed_;
  suppressed_ = 0;
  return n;
}

}  // namespace rlrec::common
