#ifndef RLREC_COMMON_DATA_BLOB_BYTES_H_
#define RLREC_COMMON_DATA_BLOB_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace rlrec::common {

// Allocates zero-filled memory: large buffers (kHugeBytes or more) as fresh anonymous mappings
// advised to use huge pages, whose pages the kernel zeroes when first touched; smaller ones
// with operator new and memset. The allocator below default-initialises new elements, so that
// a vector resized to be overwritten is not zero-filled a second time (its fresh memory is
// zero already; memory reused within its capacity is not cleared). For weight snapshots of
// gigabytes: filling one touches every page once, and with 2 MB pages a 5 GB snapshot takes
// about 2,600 page faults instead of 1.3 million. Large buffers are not inherited by forked
// children (a background checkpoint, learner/forked_task.h, reads no snapshot): a snapshot
// written while such a child lives costs no copy-on-write copy of it. Throws std::bad_alloc
// when the memory is not there.
void* AllocateBlobMemory(size_t bytes);
void FreeBlobMemory(void* p, size_t bytes);

// An allocator may also be given memory that someone else owns (`fixed`, of `fixed_bytes`):
// an allocation of exactly that size gets it, and it is never freed. The bytes of a snapshot
// are then assembled straight into, say, a host's shared segment (BlobBytesOver). Copies of a
// vector get an allocator of their own; moves and swaps take the allocator with the memory.
template <typename T>
struct BlobAllocator {
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  static constexpr size_t kHugeBytes = size_t{2} << 20;

  BlobAllocator() = default;
  BlobAllocator(void* fixed, size_t fixed_bytes) : fixed(fixed), fixed_bytes(fixed_bytes) {}
  template <typename U>
  BlobAllocator(const BlobAllocator<U>& other)  // NOLINT: allocators convert implicitly
      : fixed(other.fixed), fixed_bytes(other.fixed_bytes) {}
  BlobAllocator select_on_container_copy_construction() const { return {}; }

  T* allocate(size_t n) {
    if (fixed != nullptr && n * sizeof(T) == fixed_bytes) return static_cast<T*>(fixed);
    return static_cast<T*>(AllocateBlobMemory(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (p != fixed) FreeBlobMemory(p, n * sizeof(T));
  }
  // Default-initialises: no zero-fill on resize.
  template <typename U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  friend bool operator==(const BlobAllocator& a, const BlobAllocator& b) {
    return a.fixed == b.fixed;
  }
  friend bool operator!=(const BlobAllocator& a, const BlobAllocator& b) { return !(a == b); }

  void* fixed = nullptr;
  size_t fixed_bytes = 0;
};

// The bytes of a weight snapshot.
using BlobBytes = std::vector<uint8_t, BlobAllocator<uint8_t>>;

// Empty bytes that, resized to exactly `bytes`, are `memory` (owned by the caller, which keeps
// it mapped while they live), its contents as they are. Resized to any other size they
// allocate memory of their own.
inline BlobBytes BlobBytesOver(void* memory, size_t bytes) {
  return BlobBytes(BlobAllocator<uint8_t>(memory, bytes));
}

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_BLOB_BYTES_H_
