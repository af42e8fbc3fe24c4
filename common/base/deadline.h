#ifndef RLREC_COMMON_BASE_DEADLINE_H_
#define RLREC_COMMON_BASE_DEADLINE_H_

#include <chrono>

namespace rlrec::common {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// The longest wait a deadline may stand for: about 30 years, far inside the clock's range.
inline constexpr double kMaxWaitSeconds = 1e9;

// Returns the deadline `seconds` from now (at most kMaxWaitSeconds; negative: now).
inline Deadline After(double seconds) {
  if (!(seconds > 0)) seconds = 0;
  if (seconds > kMaxWaitSeconds) seconds = kMaxWaitSeconds;
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Milliseconds left until `deadline`, 0 once it has passed. For zmq_poll's timeout.
inline long MillisLeft(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<long>(left.count()) : 0;
}

// Seconds since `start`, as a double.
inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_DEADLINE_H_
