#ifndef RLREC_COMMON_BASE_WATCHDOG_H_
#define RLREC_COMMON_BASE_WATCHDOG_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace rlrec::common {

// A deadline for calls that cannot be interrupted (a blocking MPI collective): Arm before
// the call, Disarm after. If a call stays armed past its deadline, the watchdog runs its
// expiry action on its own thread with "<what> did not complete within S s": by default it
// writes "rlrec: <that>; aborting" to stderr and aborts the process, so that the job launcher
// tears the job down instead of leaving it hanging. Arm and Disarm are two atomic stores,
// cheap enough for every call; one background thread checks ten times a second. Arm/Disarm
// from one thread at a time.
class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // `what` must outlive the armed period (a string literal).
  void Arm(double timeout_s, const char* what);
  void Disarm();
  // Replaces the expiry action; it must end the process (it runs once, and the process is
  // aborted if it returns). Empty: the default. Thread-safe.
  void SetExpiry(std::function<void(const std::string& why)> expiry);

 private:
  void Run();
  std::atomic<int64_t> deadline_ns_{0};  // steady-clock nanoseconds; 0: disarmed
  std::atomic<const char*> what_{nullptr};
  std::atomic<double> timeout_s_{0};
  std::function<void(const std::string&)> expiry_;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_WATCHDOG_H_
