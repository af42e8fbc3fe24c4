// Data-parallel learners over MPI, run as `mpirun -np 2 collective_test` (CTest does). Each
// rank trains on its own batches with the learner's UpdateStep; the tests check what
// data-parallel training promises: identical parameters everywhere, equal to one learner
// trained on all the ranks' data together.
#include "learner/ranks/collective.h"

#include <gtest/gtest.h>

#include <cstring>

#include "learner/ranks/gradient_buckets.h"
#include "learner/ranks/mpi_world.h"
#include "learner/ranks/rank_report.h"
#include "learner/train/policy_optimizer.h"
#include "learner/train/update_step.h"
#include "tests/model_inputs.h"

namespace rlrec::learner {
namespace {

constexpr double kTimeoutS = 120;
MpiWorld* g_world = nullptr;

#define REQUIRE_TWO_RANKS()                          \
  if (g_world->size() < 2) {                         \
    GTEST_SKIP() << "needs two ranks: mpirun -np 2 " \
                 << "collective_test";               \
  }

// The parameters of `model` as doubles (exactly), concatenated.
std::vector<double> Flat(common::PolicyModel& model) {
  std::vector<double> out;
  for (const auto& p : model->parameters()) {
    auto c = p.detach().contiguous();
    const float* x = c.data_ptr<float>();
    out.insert(out.end(), x, x + c.numel());
  }
  return out;
}

common::PolicyModelOptions Model() {
  return testing::SmallModel(6, 16, 40, 5, common::UserEncoder::kGru);
}

// This rank's batch at `update`: different on every rank and every update.
Batch RankBatch(int rank, int update) {
  return testing::RandomBatch(4, 3, 5, 6, 2, 4, 40, 5, 1000 + 100 * rank + update);
}

TEST(CollectiveTest, AllGatherReturnsEveryRanksValueInRankOrder) {
  REQUIRE_TWO_RANKS();
  auto all = g_world->AllGather("rank-" + std::string(g_world->rank() + 1, 'x'), kTimeoutS);
  ASSERT_EQ(all.size(), size_t(g_world->size()));
  for (int r = 0; r < g_world->size(); ++r) EXPECT_EQ(all[r], "rank-" + std::string(r + 1, 'x'));
}

TEST(CollectiveTest, AgreeTakesTheStrongestStopAndSumsTheCounts) {
  REQUIRE_TWO_RANKS();
  RankReport mine;
  mine.stop = g_world->rank() == 1 ? StopReason::kTimeBudget : StopReason::kNone;
  mine.env_steps = 10 * (g_world->rank() + 1);
  mine.lag_min = mine.lag_max = g_world->rank() + 2;
  mine.lag_count = 1;
  auto agreed = Agree(*g_world, mine, kTimeoutS, {});
  EXPECT_EQ(agreed.stop, StopReason::kTimeBudget);
  EXPECT_EQ(agreed.env_steps, 30);
  EXPECT_EQ(agreed.lag_min, 2);
  EXPECT_EQ(agreed.lag_max, 3);
  EXPECT_EQ(agreed.lag_count, 2);
}

TEST(CollectiveTest, SmallBucketsSumEveryElementAcrossRanks) {
  REQUIRE_TWO_RANKS();
  auto collective = MakeCollective(*g_world, torch::kCPU, kTimeoutS);
  std::vector<torch::Tensor> parameters = {torch::zeros({300}), torch::zeros({7, 11}),
                                           torch::zeros({5000})};
  for (auto& p : parameters) p.set_requires_grad(true);
  GradientBuckets buckets(parameters, /*bucket_bytes=*/2048);  // the 5000 go alone
  EXPECT_EQ(buckets.num_buckets(), 2u);
  for (auto& p : parameters) {
    p.mutable_grad().copy_(torch::arange(p.numel()).view_as(p) * (g_world->rank() + 1));
  }
  buckets.AllReduce(*collective);
  const double ranks_sum = g_world->size() * (g_world->size() + 1) / 2.0;  // 1 + 2 + ...
  for (auto& p : parameters) {
    EXPECT_TRUE(torch::equal(p.grad(), torch::arange(p.numel()).view_as(p) * ranks_sum));
  }
}

TEST(CollectiveTest, NcclBucketsOnTheGpuSumEveryElementAcrossRanks) {
  if (!HasNccl()) {
    GTEST_SKIP() << "this build has no NCCL backend (it needs NCCL and a CUDA LibTorch)";
  }
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (torch::cuda::device_count() < static_cast<size_t>(g_world->size())) {
    GTEST_SKIP() << "NCCL needs one GPU per rank: " << torch::cuda::device_count() << " for "
                 << g_world->size() << " ranks";
  }
  const torch::Device gpu(torch::kCUDA, g_world->local_rank());
  auto collective = MakeCollective(*g_world, gpu, kTimeoutS);
  EXPECT_EQ(collective->backend(), "nccl");
  std::vector<torch::Tensor> parameters = {torch::zeros({300}, gpu), torch::zeros({1 << 20}, gpu)};
  for (auto& p : parameters) p.set_requires_grad(true);
  GradientBuckets buckets(parameters, /*bucket_bytes=*/4096);
  for (auto& p : parameters) {
    p.mutable_grad().copy_(torch::arange(p.numel(), gpu).view_as(p) * (g_world->rank() + 1));
  }
  buckets.AllReduce(*collective);
  const double ranks_sum = g_world->size() * (g_world->size() + 1) / 2.0;
  for (auto& p : parameters) {
    EXPECT_TRUE(torch::equal(p.grad().cpu(), torch::arange(p.numel()).view_as(p) * ranks_sum));
  }
}

// The optimiser of a test model. Dense: SGD, whose step is linear in the gradient, so
// rounding differences between averaging on two ranks and on one stay at rounding size (Adam
// scales near-zero gradients up to the learning rate, whatever their sign noise). Sparse
// tables: the learner's PolicyOptimizer, with row-wise Adagrad on the tables (linear enough
// for small gradients: its accumulators start at 0.1) and Adam at a learning rate too small to
// matter on the rest.
std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(common::PolicyModel& model) {
  if (model->SparseTables().empty()) {
    return std::make_unique<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.05));
  }
  return std::make_unique<PolicyOptimizer>(model->DenseParameters(), model->SparseTables(),
                                           /*learning_rate=*/1e-8, /*table_learning_rate=*/0.5);
}

// Trains `options` data-parallel on every rank's batches and, alongside, one learner on all
// of them; expects bit-identical ranks equal (1e-5) to the single learner, and returns how many
// table rows the last update exchanged.
int64_t ExpectDataParallelEqualsOneLearner(const common::PolicyModelOptions& options) {
  auto collective = MakeCollective(*g_world, torch::kCPU, kTimeoutS);
  common::RunConfig config;
  LossOptions loss(config);  // V-trace, clipped gradients
  loss.max_grad_norm = 0.5;  // small: clipping really happens

  // Different initial weights on each rank: the learner broadcasts the lead's, as here.
  torch::manual_seed(7 + g_world->rank());
  common::PolicyModel model(options);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) collective->Broadcast(p, 0);
  }
  GradientBuckets gradients(model->DenseParameters(), /*bucket_bytes=*/4096, model->SparseTables());
  auto optimizer = MakeOptimizer(model);

  // The reference: one learner, the lead's initial weights, every rank's batch at once.
  torch::manual_seed(7);
  common::PolicyModel single(options);
  GradientBuckets single_gradients(single->DenseParameters(), 1 << 20, single->SparseTables());
  auto single_optimizer = MakeOptimizer(single);

  const int kUpdates = 6;
  for (int u = 0; u < kUpdates; ++u) {
    UpdateStep(model, *optimizer, gradients, collective.get(), RankBatch(g_world->rank(), u), loss);
    std::vector<Batch> all;
    for (int r = 0; r < g_world->size(); ++r) all.push_back(RankBatch(r, u));
    UpdateStep(single, *single_optimizer, single_gradients, nullptr, testing::ConcatUsers(all),
               loss);
  }

  const auto mine = Flat(model);
  const auto everyone = g_world->AllGather(mine, kTimeoutS);
  const size_t n = mine.size();
  for (int r = 0; r < g_world->size(); ++r) {
    EXPECT_EQ(std::memcmp(&everyone[r * n], &everyone[0], n * sizeof(double)), 0)
        << "rank " << r << " differs from rank 0";
  }
  const auto reference = Flat(single);
  double worst = 0, moved = 0;
  torch::manual_seed(7);
  common::PolicyModel initial_model(options);
  const auto initial = Flat(initial_model);
  for (size_t i = 0; i < n; ++i) {
    worst = std::max(worst, std::abs(mine[i] - reference[i]));
    moved = std::max(moved, std::abs(mine[i] - initial[i]));
  }
  EXPECT_LT(worst, 1e-5) << "data-parallel training drifted from the single learner";
  EXPECT_GT(moved, 1e-3) << "training did not move the parameters: the test would prove nothing";
  return gradients.TouchedRows();
}

TEST(CollectiveTest, RanksHoldBitIdenticalParametersEqualToOneLearnerOnAllTheData) {
  REQUIRE_TWO_RANKS();
  ExpectDataParallelEqualsOneLearner(Model());
}

TEST(CollectiveTest, SparseTablesExchangeOnlyTouchedRowsAndMatchOneLearner) {
  REQUIRE_TWO_RANKS();
  common::PolicyModelOptions options = Model();
  options.item_buckets = 100000;  // far more rows than a batch touches
  options.embedding_dim = 8;      // narrower than hidden: projected
  options.sparse_tables = true;
  const int64_t rows = ExpectDataParallelEqualsOneLearner(options);
  EXPECT_GT(rows, 0);
  // Batches draw ids from 40 items: at most 41 rows (row 0 is "no item") of each of 2 tables.
  EXPECT_LE(rows, 2 * 41) << "the exchange carried rows no batch touched";
}

}  // namespace
}  // namespace rlrec::learner

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  rlrec::learner::MpiWorld world;
  rlrec::learner::g_world = &world;
  // Only the lead prints, so the output reads as one run.
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  // Every rank's verdict counts.
  auto all = world.AllGather(std::vector<double>{double(failed)}, rlrec::learner::kTimeoutS);
  for (double f : all) failed |= f != 0;
  return failed;
}
