#include "learner/train/pg_loss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "common/model/policy_model.h"
#include "tests/model_inputs.h"

namespace rlrec::learner {
namespace {

TEST(DiscountedReturnsTest, MatchHandComputedValuesAndStopAtSessionEnds) {
  // Two users, three steps; user 1's session ends at step 1.
  auto rewards = torch::tensor({{1.f, 2.f}, {0.f, 4.f}, {3.f, 1.f}});
  auto dones = torch::tensor({{0.f, 0.f}, {0.f, 1.f}, {0.f, 0.f}});
  auto bootstrap = torch::tensor({10.f, 20.f});
  auto g = DiscountedReturns(rewards, dones, bootstrap, 0.5);
  // User 0: G2 = 3 + 0.5*10 = 8; G1 = 0 + 0.5*8 = 4; G0 = 1 + 0.5*4 = 3.
  // User 1: G2 = 1 + 0.5*20 = 11; G1 = 4 (ends here); G0 = 2 + 0.5*4 = 4.
  auto expected = torch::tensor({{3.f, 4.f}, {4.f, 4.f}, {8.f, 11.f}});
  EXPECT_TRUE(torch::allclose(g, expected)) << g;
}

TEST(SlateLogProbTest, MatchesThePlackettLuceProductWorkedOutByHand) {
  auto scores = torch::tensor({{std::log(1.f), std::log(2.f), std::log(3.f), std::log(4.f)}});
  auto slate = torch::tensor({{3, 0}}, torch::kInt64);
  // P = 4/10 * 1/(1+2+3).
  double expected = std::log(0.4 * (1.0 / 6.0));
  EXPECT_NEAR(common::SlateLogProb(scores, slate, 1.0).item<double>(), expected, 1e-5);
  // Temperature 2 halves the logits: weights become sqrt(1), sqrt(2), sqrt(3), sqrt(4).
  double s = 1 + std::sqrt(2.0) + std::sqrt(3.0) + 2;
  double expected_t2 = std::log(2 / s * 1 / (s - 2));
  EXPECT_NEAR(common::SlateLogProb(scores, slate, 2.0).item<double>(), expected_t2, 1e-5);
}

TEST(SampleSlatesTest, DrawsDistinctItemsWithPlackettLuceFrequencies) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(123);
  const int n = 40000;
  auto scores =
      torch::tensor({std::log(1.f), std::log(2.f), std::log(3.f), std::log(4.f)}).repeat({n, 1});
  auto sample = common::SampleSlates(scores, 2, 1.0, generator);
  auto slates = sample.slates.accessor<int64_t, 2>();
  std::map<std::pair<int64_t, int64_t>, int> counts;
  for (int i = 0; i < n; ++i) {
    ASSERT_NE(slates[i][0], slates[i][1]);
    ++counts[{slates[i][0], slates[i][1]}];
  }
  // P(3, 0) = 0.4 / 6; P(2, 3) = 0.3 * 4 / 7.
  for (auto [slate, p] : {std::pair{std::pair<int64_t, int64_t>{3, 0}, 0.4 / 6},
                          std::pair{std::pair<int64_t, int64_t>{2, 3}, 0.3 * 4 / 7}}) {
    double freq = counts[slate] / double(n);
    double sigma = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(freq, p, 5 * sigma) << slate.first << "," << slate.second;
  }
  // The reported log-probabilities are those of the drawn slates.
  auto recomputed = common::SlateLogProb(scores, sample.slates, 1.0);
  EXPECT_TRUE(torch::allclose(recomputed, sample.log_probs));
}

TEST(SampleSlatesTest, EpsilonMixesInUniformSlatesWithTheMixturesExactLogProbability) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const int n = 40000;
  // Item 0 dominates the policy: without exploration, slate (1, 2) is nearly impossible.
  auto scores = torch::tensor({20.f, 0.f, 0.f, 0.f}).repeat({n, 1});
  auto sample = common::SampleSlates(scores, 2, 1.0, generator, /*epsilon=*/0.3);
  auto slates = sample.slates.accessor<int64_t, 2>();
  int twelve = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_NE(slates[i][0], slates[i][1]);
    twelve += slates[i][0] == 1 && slates[i][1] == 2;
  }
  // P(1, 2) = 0.3 / 12 + 0.7 * (tiny).
  const double p = 0.3 / 12;
  EXPECT_NEAR(twelve, n * p, 5 * std::sqrt(n * p * (1 - p)));
  for (int i = 0; i < 5; ++i) {
    const double policy =
        common::SlateLogProb(scores[i].unsqueeze(0), sample.slates[i].unsqueeze(0), 1.0)
            .item<double>();
    const double mixture = std::log(0.7 * std::exp(policy) + 0.3 / 12);
    EXPECT_NEAR(sample.log_probs[i].item<double>(), mixture, 1e-5);
  }
}

// Actors sample through plain loops (no autograd); anything that needs gradients through the
// tensor operations: both must draw the same slates from the same random stream.
TEST(SampleSlatesTest, TheLoopAndTheTensorPathsDrawTheSameSlatesWithTheSameLogProbabilities) {
  torch::manual_seed(8);
  auto scores = torch::randn({64, 10}) * 3;
  for (double epsilon : {0.0, 0.25}) {
    auto loop_generator = at::make_generator<at::CPUGeneratorImpl>(77);
    auto tensor_generator = at::make_generator<at::CPUGeneratorImpl>(77);
    const auto loop = common::SampleSlates(scores, 3, 0.7, loop_generator, epsilon);
    const auto tensor =
        common::SampleSlates(scores.clone().requires_grad_(), 3, 0.7, tensor_generator, epsilon);
    EXPECT_TRUE(torch::equal(loop.slates, tensor.slates)) << "epsilon " << epsilon;
    EXPECT_TRUE(torch::allclose(loop.log_probs, tensor.log_probs.detach(), 1e-5, 1e-5))
        << "epsilon " << epsilon;
    EXPECT_FALSE(loop.log_probs.requires_grad());
    EXPECT_TRUE(tensor.log_probs.requires_grad());
  }
}

TEST(PolicyGradientLossTest, StepOnAPositiveAdvantageMakesThatSlateMoreLikely) {
  torch::manual_seed(0);
  common::PolicyModel model(testing::SmallModel(6, 16));
  Batch batch;
  const int64_t T = 1, N = 4, R = 5, F = 6;
  batch.steps = testing::NoIds(torch::randn({T, N, R, F}), R - 1);
  batch.bootstrap = testing::NoIds(torch::randn({N, R, F}), R - 1);
  batch.slates = torch::tensor({0, 1, 2, 3}, torch::kInt64).view({T, N, 1});
  batch.behaviour_log_probs = torch::zeros({T, N});
  batch.rewards = torch::full({T, N}, 100.f);  // far above any initial value estimate
  batch.dones = torch::ones({T, N});
  auto first_step = [&] { return common::Select(batch.steps, 0); };
  LossOptions options;
  options.discount = 0.9;
  options.value_coef = 0.0;
  options.entropy_coef = 0.0;
  options.temperature = 1.0;
  auto before = common::SlateLogProb(model->Forward(first_step()).scores, batch.slates[0], 1.0)
                    .sum()
                    .item<double>();
  torch::optim::SGD sgd(model->parameters(), 0.01);
  auto terms = PolicyGradientLoss(model, batch, options);
  sgd.zero_grad();
  terms.total.backward();
  sgd.step();
  auto after = common::SlateLogProb(model->Forward(first_step()).scores, batch.slates[0], 1.0)
                   .sum()
                   .item<double>();
  EXPECT_GT(after, before);
}

}  // namespace
}  // namespace rlrec::learner
