#ifndef RLREC_COMMON_BASE_CHECK_H_
#define RLREC_COMMON_BASE_CHECK_H_

#include <sstream>
#include <string>

namespace rlrec::common {

// Collects a fatal message and, when destroyed, prints it with file, line, program, host and
// pid, then aborts. Used only through RLREC_CHECK: programming errors, never bad input.
class FatalMessage {
 public:
  FatalMessage(const char* file, int line, const char* condition);
  [[noreturn]] ~FatalMessage();
  std::ostream& stream() { return stream_; }

 private:
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Sets the name printed in fatal messages and log lines (e.g. "learner", "actor-3").
// Call once at program start, before other threads exist.
void SetProcessName(const char* name);
const char* ProcessName();

// This host's name (gethostname), or "localhost" when it has none.
std::string HostName();

}  // namespace rlrec::common

// Stops the program with file, line, process and host when `cond` is false:
//   RLREC_CHECK(k <= c) << "slate larger than candidate set: " << k;
#define RLREC_CHECK(cond)                             \
  if (__builtin_expect(static_cast<bool>(cond), 1)) { \
  } else                                              \
    ::rlrec::common::FatalMessage(__FILE__, __LINE__, #cond).stream()

#endif  // RLREC_COMMON_BASE_CHECK_H_
