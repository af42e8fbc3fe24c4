#include "common/logging.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "common/check.h"

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

}  // namespace rlrec::common
