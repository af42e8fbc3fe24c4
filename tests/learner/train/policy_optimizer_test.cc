#include "learner/train/policy_optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace rlrec::learner {
namespace {

// A table of `rows` x 2 and a dense vector, with a sparse gradient on rows 3 (twice, summed)
// and 7 and a dense gradient on the vector.
struct Fixture {
  torch::Tensor table = torch::ones({10, 2}).requires_grad_(true);
  torch::Tensor dense = torch::ones({4}).requires_grad_(true);
  void SetGradients() {
    auto rows = torch::tensor({3, 7, 3}, torch::kLong).unsqueeze(0);
    auto values = torch::tensor({{1.f, 2.f}, {3.f, 4.f}, {1.f, 0.f}});
    table.mutable_grad() = torch::sparse_coo_tensor(rows, values, {10, 2});
    dense.mutable_grad() = torch::full({4}, 0.5);
  }
};

TEST(PolicyOptimizerTest, RowAdagradMovesOnlyTouchedRowsByTheFormula) {
  Fixture f;
  PolicyOptimizer optimizer({f.dense}, {f.table}, /*learning_rate=*/0.1,
                            /*table_learning_rate=*/0.5);
  f.SetGradients();
  optimizer.step();
  auto expect_row = [&](int row, float g0, float g1) {
    const double sum = PolicyOptimizer::kInitialAccumulator + (g0 * g0 + g1 * g1) / 2.0;
    const double scale = 0.5 / (std::sqrt(sum) + 1e-10);
    EXPECT_NEAR(f.table[row][0].item<double>(), 1 - scale * g0, 1e-6) << "row " << row;
    EXPECT_NEAR(f.table[row][1].item<double>(), 1 - scale * g1, 1e-6) << "row " << row;
  };
  expect_row(3, 2.f, 2.f);  // the two entries of row 3 summed
  expect_row(7, 3.f, 4.f);
  for (int row : {0, 1, 2, 4, 5, 6, 8, 9}) {
    EXPECT_TRUE(torch::equal(f.table[row], torch::ones({2})))
        << "untouched row " << row << " moved";
  }
  // Adam's first step moves every dense entry by the learning rate.
  EXPECT_NEAR(f.dense[0].item<double>(), 0.9, 1e-5);
  EXPECT_EQ(optimizer.StateBytes(), 2 * 4 * sizeof(float) + 10 * sizeof(float));
}

TEST(PolicyOptimizerTest, SavedStateResumesExactly) {
  Fixture a, b;
  PolicyOptimizer first({a.dense}, {a.table}, 0.1, 0.5);
  a.SetGradients();
  first.step();
  torch::serialize::OutputArchive out;
  first.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);

  PolicyOptimizer second({b.dense}, {b.table}, 0.1, 0.5);
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  second.load(in);
  {
    torch::NoGradGuard no_grad;
    b.table.copy_(a.table);
    b.dense.copy_(a.dense);
  }
  a.SetGradients();
  b.SetGradients();
  first.step();
  second.step();
  EXPECT_TRUE(torch::equal(a.table, b.table)) << "the accumulators did not survive";
  EXPECT_TRUE(torch::equal(a.dense, b.dense)) << "Adam's moments did not survive";
}

TEST(PolicyOptimizerTest, DenseStepsFollowTorchAdamAndItsArchiveLoadsIntoOne) {
  torch::manual_seed(3);
  const auto start = torch::randn({5, 3});
  auto mine = start.clone().requires_grad_(true);
  auto theirs = start.clone().requires_grad_(true);
  PolicyOptimizer policy({mine}, {}, /*learning_rate=*/0.01, 0.5);
  torch::optim::Adam adam({theirs}, torch::optim::AdamOptions(0.01));
  for (int step = 0; step < 5; ++step) {
    const auto grad = torch::randn({5, 3});
    mine.mutable_grad() = grad.clone();
    theirs.mutable_grad() = grad.clone();
    policy.step();
    adam.step();
    EXPECT_TRUE(torch::allclose(mine, theirs, /*rtol=*/0, /*atol=*/1e-7)) << "step " << step;
  }
  // The archive is Adam's, step count included: torch's Adam continues from it alike.
  torch::serialize::OutputArchive out;
  policy.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  auto copy = mine.detach().clone().requires_grad_(true);
  torch::optim::Adam loaded({copy}, torch::optim::AdamOptions(0.01));
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  loaded.load(in);
  const auto grad = torch::randn({5, 3});
  mine.mutable_grad() = grad.clone();
  copy.mutable_grad() = grad.clone();
  policy.step();
  loaded.step();
  EXPECT_TRUE(torch::allclose(mine, copy, 0, 1e-7));
}

TEST(PolicyOptimizerTest, AStepNotTakenMovesNothingAndTheNextIsAFirstStep) {
  Fixture a, b;
  PolicyOptimizer skipping({a.dense}, {a.table}, 0.1, 0.5);
  PolicyOptimizer fresh({b.dense}, {b.table}, 0.1, 0.5);
  a.SetGradients();
  skipping.StepIf(torch::zeros({}, torch::kBool));
  EXPECT_TRUE(torch::equal(a.dense, torch::ones({4})));
  EXPECT_TRUE(torch::equal(a.table, torch::ones({10, 2})));
  EXPECT_EQ(skipping.TakeChangedRows().at(0).numel(), 2);  // marked, though unmoved: harmless
  // Moments, accumulators and the step count did not move either: the next step is the one a
  // fresh optimiser makes.
  a.SetGradients();
  b.SetGradients();
  skipping.StepIf(torch::ones({}, torch::kBool));
  fresh.step();
  EXPECT_TRUE(torch::equal(a.dense, b.dense));
  EXPECT_TRUE(torch::equal(a.table, b.table));
  EXPECT_NEAR(a.dense[0].item<double>(), 0.9, 1e-5);  // a first Adam step: the full rate
}

TEST(PolicyOptimizerTest, StateOfAnotherTableSizeIsRefused) {
  Fixture a;
  PolicyOptimizer first({a.dense}, {a.table}, 0.1, 0.5);
  torch::serialize::OutputArchive out;
  first.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  auto other = torch::ones({11, 2}).requires_grad_(true);
  PolicyOptimizer second({a.dense}, {other}, 0.1, 0.5);
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  EXPECT_THROW(second.load(in), c10::Error);
}

}  // namespace
}  // namespace rlrec::learner
