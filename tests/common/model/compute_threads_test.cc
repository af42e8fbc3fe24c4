#include "common/model/compute_threads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace rlrec::common {
namespace {

// OpenBLAS sizes its own thread pool (one per core) unless told; LibTorch does not tell it.
TEST(ComputeThreadsTest, SizesLibTorchsThreadsAndOpenBlassPoolAlike) {
  if (BlasThreads() == 0) GTEST_SKIP() << "LibTorch does not compute through OpenBLAS here";
  SetComputeThreads(3);
  EXPECT_EQ(torch::get_num_threads(), 3);
  EXPECT_EQ(BlasThreads(), 3);
  SetComputeThreads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(BlasThreads(), 1);
  // Still computes, and right.
  auto a = torch::randn({64, 64});
  EXPECT_TRUE(torch::allclose(torch::matmul(a, torch::eye(64)), a));
}

}  // namespace
}  // namespace rlrec::common
