#include "common/base/malloc_tuning.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace rlrec::common {
namespace {

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Allocates `count` blocks of `bytes`, writes every page, frees them all: what an update does.
long FaultsOfOneRound(int count = 64, size_t bytes = 1 << 20) {
  const long before = MinorFaults();
  std::vector<void*> blocks;
  for (int i = 0; i < count; ++i) {
    void* p = std::malloc(bytes);
    if (!p) std::abort();
    std::memset(p, i, bytes);
    blocks.push_back(p);
  }
  for (void* p : blocks) std::free(p);
  return MinorFaults() - before;
}

TEST(MallocTuningTest, MemoryFreedByOneRoundIsReusedByTheNextWithoutPageFaults) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers bring their own allocator";
#else
  KeepFreedMemory();
  const long first = FaultsOfOneRound();
  long later = 0;
  for (int round = 0; round < 4; ++round) later += FaultsOfOneRound();
  // The first round faults its 64 MiB in (16,384 pages of 4 KiB); later rounds reuse them.
  if (first < 1000) {
    GTEST_SKIP() << "64 MiB faulted in with " << first
                 << " faults: huge pages (transparent_hugepage=always) hide the reuse here";
  }
  EXPECT_LT(later, first / 10) << "first round " << first << " faults, next four " << later;
#endif
}

TEST(MallocTuningTest, KeepingAllReusesBlocksLargerThanAnyMappingThreshold) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers bring their own allocator";
#else
  KeepFreedMemory(KeepFreed::kAll);
  // Two blocks of 96 MiB, above glibc's largest mapping threshold (32 MiB): mapped and
  // unmapped each round unless every block comes from the heap.
  const long first = FaultsOfOneRound(2, size_t{96} << 20);
  long later = 0;
  for (int round = 0; round < 3; ++round) later += FaultsOfOneRound(2, size_t{96} << 20);
  if (first < 1000) {
    GTEST_SKIP() << "192 MiB faulted in with " << first
                 << " faults: huge pages (transparent_hugepage=always) hide the reuse here";
  }
  EXPECT_LT(later, first / 10) << "first round " << first << " faults, next three " << later;
  KeepFreedMemory(KeepFreed::kSmall);  // as the other tests expect
#endif
}

}  // namespace
}  // namespace rlrec::common
