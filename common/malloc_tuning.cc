#include "common/malloc_tuning.h"

#include <malloc.h>

#include "common/logging.h"

namespace rlrec::common {

void KeepFreedMemory() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return;  // the sanitizers' allocators ignore mallopt
#endif
  // glibc refuses a mapping threshold above 32 MiB on 64-bit hosts (its maximum).
  constexpr int kMmapThreshold = 32 << 20;
  constexpr int kTrimThreshold = 512 << 20;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 ||
      mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1) {
    RLREC_LOG(Warning) << "the C allocator refused to keep freed memory (mallopt); every update "
                          "may fault its pages in afresh";
  }
}

}  // namespace rlrec::common
