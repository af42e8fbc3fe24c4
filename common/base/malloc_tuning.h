#ifndef RLREC_COMMON_BASE_MALLOC_TUNING_H_
#define RLREC_COMMON_BASE_MALLOC_TUNING_H_

namespace rlrec::common {

// How much freed memory KeepFreedMemory keeps.
enum class KeepFreed {
  // Blocks up to 32 MiB (glibc's most for the mapping threshold) come from the heap, not from
  // a mapping of their own, and the heap is trimmed only past 512 MiB free at its top: for
  // processes whose steps allocate tens of megabytes in blocks of a few (actors).
  kSmall,
  // Every block comes from the heap and the heap is never trimmed: the process keeps its
  // peak. For learners: an update of a large model allocates and frees blocks of hundreds of
  // megabytes, which glibc would otherwise map and unmap each time (an update of the deep
  // preset on the CPU spent half its time faulting pages in).
  kAll,
};

// Makes the C allocator keep memory that was freed for the next allocation, instead of giving
// it back to the kernel, as `keep` says. A learner or an actor allocates and frees the same
// memory at every update or unroll (LibTorch's activations and gradients on the CPU); given
// back each time, every page faults in afresh, which cost a learner update here 40% in the
// kernel and 1.7 to 3 times its time. Call once, early, from the main thread.
void KeepFreedMemory(KeepFreed keep = KeepFreed::kSmall);

// Gives the heap's free pages back to the system (malloc_trim), at most once a second per
// process: calls within a second of the last trim have one more done when the second is over
// (on a short-lived thread of its own). For after a burst that the process should not keep: a
// hostile oversized message that ZeroMQ buffered whole, say. Costs a walk over the heap's free
// blocks. Thread-safe.
void ReturnFreedMemory();

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_MALLOC_TUNING_H_
