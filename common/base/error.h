#ifndef RLREC_COMMON_BASE_ERROR_H_
#define RLREC_COMMON_BASE_ERROR_H_

#include <stdexcept>
#include <string>

namespace rlrec::common {

// Classifies a failure the way kj does, so a caller knows whether retrying can help.
enum class ErrorKind {
  kInvalidInput,   // bad config, CLI, message or file: retrying the same input fails again
  kUnavailable,    // a peer is missing or disconnected: retrying later may succeed
  kTimeout,        // a deadline passed or a queue is full: retrying later may succeed
  kUnimplemented,  // the request names something this build does not do
  kInternal,       // a library call failed unexpectedly
};

// Returns a short lower-case name for `kind` ("invalid input", ...).
const char* ErrorKindName(ErrorKind kind);

// An expected failure, carrying its kind and a message that says what, where and what was
// expected. Thrown across component boundaries; caught where it can be reported or handled.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

inline Error InvalidInput(const std::string& m) { return Error(ErrorKind::kInvalidInput, m); }
inline Error Unavailable(const std::string& m) { return Error(ErrorKind::kUnavailable, m); }
inline Error Timeout(const std::string& m) { return Error(ErrorKind::kTimeout, m); }
inline Error Internal(const std::string& m) { return Error(ErrorKind::kInternal, m); }

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_ERROR_H_
