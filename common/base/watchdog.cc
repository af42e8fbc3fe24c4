#include "common/base/watchdog.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace rlrec::common {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog() : thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::Arm(double timeout_s, const char* what) {
  what_.store(what, std::memory_order_relaxed);
  timeout_s_.store(timeout_s, std::memory_order_relaxed);
  deadline_ns_.store(NowNs() + static_cast<int64_t>(timeout_s * 1e9), std::memory_order_release);
}

void Watchdog::Disarm() { deadline_ns_.store(0, std::memory_order_release); }

void Watchdog::SetExpiry(std::function<void(const std::string& why)> expiry) {
  std::lock_guard<std::mutex> lock(mutex_);
  expiry_ = std::move(expiry);
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; })) {
    const int64_t deadline = deadline_ns_.load(std::memory_order_acquire);
    if (deadline != 0 && NowNs() > deadline) {
      char why[256];
      std::snprintf(why, sizeof(why), "%s did not complete within %g s",
                    what_.load(std::memory_order_relaxed),
                    timeout_s_.load(std::memory_order_relaxed));
      if (expiry_) expiry_(why);
      std::fprintf(stderr, "rlrec: %s; aborting\n", why);
      std::fflush(stderr);
      std::abort();
    }
  }
}

}  // namespace rlrec::common
