#include "common/base/check.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/base/error.h"

namespace rlrec::common {
namespace {
const char* g_process_name = "rlrec";
}  // namespace

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "invalid input";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kUnimplemented:
      return "unimplemented";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "unknown";
}

void SetProcessName(const char* name) { g_process_name = name; }

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}
const char* ProcessName() { return g_process_name; }

FatalMessage::FatalMessage(const char* file, int line, const char* condition)
    : file_(file), line_(line) {
  stream_ << "check failed: " << condition << ": ";
}

FatalMessage::~FatalMessage() {
  char host[256] = "?";
  gethostname(host, sizeof(host) - 1);
  std::fprintf(stderr, "[%s] FATAL %s:%d host=%s pid=%d: %s\n", g_process_name, file_, line_, host,
               static_cast<int>(getpid()), stream_.str().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace rlrec::common
