#include "common/data/blob_bytes.h"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace rlrec::common {
namespace {

size_t MappedBytes(size_t bytes) {
  constexpr size_t kHuge = BlobAllocator<uint8_t>::kHugeBytes;
  return (bytes + kHuge - 1) / kHuge * kHuge;
}

}  // namespace

void* AllocateBlobMemory(size_t bytes) {
  if (bytes < BlobAllocator<uint8_t>::kHugeBytes)
    return std::memset(::operator new(bytes), 0, bytes);
  void* p =
      mmap(nullptr, MappedBytes(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Advice only: without transparent huge pages the mapping still works, with 4 KB pages.
  (void)madvise(p, MappedBytes(bytes), MADV_HUGEPAGE);
  (void)madvise(p, MappedBytes(bytes), MADV_DONTFORK);  // advice too: fork copies it otherwise
  return p;
}

void FreeBlobMemory(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < BlobAllocator<uint8_t>::kHugeBytes) return ::operator delete(p);
  munmap(p, MappedBytes(bytes));
}

}  // namespace rlrec::common
