#include "common/model/compute_threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace rlrec::common {

void SetComputeThreads(int threads) {
  torch::set_num_threads(threads);
  // Looked up at run time: rlrec links LibTorch, not a BLAS of its choosing.
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}

int BlasThreads() {
  using GetThreads = int (*)();
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}

}  // namespace rlrec::common
