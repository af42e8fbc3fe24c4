#ifndef RLREC_COMMON_LOGGING_H_
#define RLREC_COMMON_LOGGING_H_

#include <sstream>

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

}  // namespace rlrec::common

#define RLREC_LOG(level) ::rlrec::common::LogLine(::rlrec::common::LogLevel::k##level).stream()

#endif  // RLREC_COMMON_LOGGING_H_
