#ifndef RLREC_COMMON_MALLOC_TUNING_H_
#define RLREC_COMMON_MALLOC_TUNING_H_

namespace rlrec::common {

// Makes the C allocator keep memory that was freed for the next allocation, instead of giving
// it back to the kernel: large blocks (up to 32 MiB, glibc's limit) come from the heap, not
// from a mapping of their own, and the heap is trimmed only past 512 MiB free at its top. A
// learner or an actor allocates and frees the same tens of megabytes at every update or
// unroll (LibTorch's activations and gradients on the CPU); given back each time, every page
// faults in afresh, which cost a learner update here 40% in the kernel and 1.7 to 3 times its
// time. Memory held stays at the process's peak. Call once, early, from the main thread.
void KeepFreedMemory();

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MALLOC_TUNING_H_
