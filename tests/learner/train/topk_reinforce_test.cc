#include "learner/train/topk_reinforce.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rlrec::learner {
namespace {

TEST(TopKReinforceTest, PolicyLossMatchesTheCorrectionWorkedOutByHand) {
  // One state, three items with weights 1, 2, 3 (p = 1/6, 2/6, 3/6); slate (2, 0), K = 2.
  auto scores = torch::tensor({{std::log(1.0), std::log(2.0), std::log(3.0)}}, torch::kFloat64)
                    .requires_grad_();
  auto slate = torch::tensor({{2, 0}}, torch::kInt64);
  // pi(slate) = 3/6 * 1/3 = 1/6. The behaviour gave it 1/24: ratio 4, under the cap of 5.
  auto behaviour = torch::tensor({std::log(1.0 / 24)}, torch::kFloat64);
  auto advantage = torch::tensor({2.0}, torch::kFloat64);
  auto loss = TopKReinforcePolicyLoss(scores, slate, behaviour, advantage, 1.0, 5.0);
  // lambda(a) = 2 (1 - p(a)): 2 * 1/2 = 1 for item 2, 2 * 5/6 = 5/3 for item 0.
  const double expected = -4.0 * 2.0 * (1.0 * std::log(0.5) + 5.0 / 3 * std::log(1.0 / 6));
  EXPECT_NEAR(loss.item<double>(), expected, 1e-9);

  // With a cap of 3 the weight is 3, not 4.
  auto capped = TopKReinforcePolicyLoss(scores, slate, behaviour, advantage, 1.0, 3.0);
  EXPECT_NEAR(capped.item<double>(), expected * 3.0 / 4.0, 1e-9);

  // d loss / d score_j = -w A sum_k lambda_k ([j = a_k] - p_j): the multiplier favours the
  // slate item the policy is least sure of (item 0, p = 1/6) over the likely one (item 2).
  loss.backward();
  auto grad = scores.grad();
  EXPECT_NEAR(grad[0][0].item<double>(), -8.0 * (-1.0 / 6 + 5.0 / 3 * 5.0 / 6), 1e-9);
  EXPECT_NEAR(grad[0][1].item<double>(), -8.0 * (-1.0 / 3 - 5.0 / 3 / 3), 1e-9);
  EXPECT_NEAR(grad[0][2].item<double>(), -8.0 * (0.5 - 5.0 / 3 * 0.5), 1e-9);
}

TEST(TopKReinforceTest, TheMultiplierFadesAsAnItemBecomesCertain) {
  // lambda = K (1 - p)^(K - 1): an item nearly certain to be drawn is in every top-K slate
  // already, so pushing it further earns (almost) nothing. On-policy, weight 1, A = 1.
  auto scores = torch::tensor({{10.0, 0.0, 0.0}}, torch::kFloat64);
  auto slate = torch::tensor({{0, 1}}, torch::kInt64);
  auto behaviour = common::SlateLogProb(scores, slate, 1.0);
  auto loss = TopKReinforcePolicyLoss(scores, slate, behaviour, torch::ones({1}, torch::kFloat64),
                                      1.0, 5.0);
  const double p0 = std::exp(10.0) / (std::exp(10.0) + 2), p1 = 1 / (std::exp(10.0) + 2);
  const double expected = -(2 * (1 - p0) * std::log(p0) + 2 * (1 - p1) * std::log(p1));
  EXPECT_NEAR(loss.item<double>(), expected, 1e-9);
  EXPECT_LT(2 * (1 - p0), 1e-3);
}

}  // namespace
}  // namespace rlrec::learner
