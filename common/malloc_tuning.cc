#include "common/malloc_tuning.h"

#include <malloc.h>

#include "common/logging.h"

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

}  // namespace rlrec::common
