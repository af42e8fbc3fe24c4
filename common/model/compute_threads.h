#ifndef RLREC_COMMON_MODEL_COMPUTE_THREADS_H_
#define RLREC_COMMON_MODEL_COMPUTE_THREADS_H_

namespace rlrec::common {

// Sets the threads this process computes with: LibTorch's intra-op threads and, when LibTorch
// computes through OpenBLAS (Debian's libtorch does, through libblas.so.3), OpenBLAS's own
// thread pool, which LibTorch does not size. Left alone, OpenBLAS starts one busy-waiting
// thread per core in every process: with several actors and a learner on one host they take
// the cores from each other (an actor computed 25% slower on one core, and far slower beside
// others). Call once, early, from the main thread.
void SetComputeThreads(int threads);

// OpenBLAS's thread count, or 0 when OpenBLAS is not loaded in this process.
int BlasThreads();

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_COMPUTE_THREADS_H_
