#include "common/base/malloc_tuning.h"

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/base/logging.h"

namespace rlrec::common {

void KeepFreedMemory(KeepFreed keep) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return;  // the sanitizers' allocators ignore mallopt
#endif
  // glibc refuses a mapping threshold above 32 MiB on 64-bit hosts (its maximum).
  constexpr int kMmapThreshold = 32 << 20;
  constexpr int kTrimThreshold = 512 << 20;
  constexpr int kDefaultMmapMax = 65536;  // glibc's own: mappings allowed
  const bool all = keep == KeepFreed::kAll;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 ||
      // -1: never trim (mallopt(3)); no mappings at all: every block from the heap.
      mallopt(M_TRIM_THRESHOLD, all ? -1 : kTrimThreshold) != 1 ||
      mallopt(M_MMAP_MAX, all ? 0 : kDefaultMmapMax) != 1) {
    RLREC_LOG(Warning) << "the C allocator refused to keep freed memory (mallopt); every update "
                          "may fault its pages in afresh";
  }
}

void ReturnFreedMemory() {
  static std::atomic<int64_t> last_ms{-1000};
  static std::atomic<bool> deferred{false};
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  int64_t last = last_ms.load();
  const int64_t now = now_ms();
  if (now - last >= 1000 && last_ms.compare_exchange_strong(last, now)) {
    malloc_trim(0);
    return;
  }
  // Trimmed less than a second ago: once more when the second is over, for what came since (a
  // burst of several large messages), on a thread of its own.
  if (deferred.exchange(true)) return;
  std::thread([now_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    // Cleared first: what is freed while this trims has a trim of its own after it.
    deferred.store(false);
    last_ms.store(now_ms());
    malloc_trim(0);
  }).detach();
}

}  // namespace rlrec::common
