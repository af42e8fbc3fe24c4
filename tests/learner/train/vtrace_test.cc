#include "learner/train/vtrace.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rlrec::learner {
namespace {

TEST(VTraceTest, MatchesTargetsWorkedOutByHandWithAnEpisodeEndAndAnOlderBehaviour) {
  // One user, three steps; the session ends at step 1; the behaviour (an older snapshot)
  // gave the slates probabilities with pi/mu = 2, 0.5, 1.5; rho_bar = c_bar = 1.
  auto mu = torch::log(torch::tensor({{0.1f}, {0.4f}, {0.2f}}));
  auto pi = torch::log(torch::tensor({{0.2f}, {0.2f}, {0.3f}}));
  auto rewards = torch::tensor({{1.f}, {0.f}, {2.f}});
  auto dones = torch::tensor({{0.f}, {1.f}, {0.f}});
  auto values = torch::tensor({{0.5f}, {1.0f}, {0.2f}});
  auto bootstrap = torch::tensor({0.7f});
  LossOptions options;
  options.discount = 0.9;
  VTraceTargets t = ComputeVTrace(mu, pi, rewards, dones, values, bootstrap, options);
  // rho = c = (1, 0.5, 1); gamma = (0.9, 0, 0.9).
  // delta = (1 (1 + 0.9 * 1.0 - 0.5), 0.5 (0 - 1.0), 1 (2 + 0.9 * 0.7 - 0.2)) = (1.4, -0.5, 2.43)
  // v2 = 0.2 + 2.43 = 2.63; v1 = 1.0 - 0.5 = 0.5 (the end cuts the trace);
  // v0 = 0.5 + 1.4 + 0.9 * 1 * (0.5 - 1.0) = 1.45.
  EXPECT_TRUE(torch::allclose(t.vs, torch::tensor({{1.45f}, {0.5f}, {2.63f}}), 1e-5, 1e-6)) << t.vs;
  // Advantages rho_s (r_s + gamma_s v_{s+1} - V_s), v_3 = bootstrap:
  // (1 + 0.9 * 0.5 - 0.5, 0.5 (0 - 1.0), 2 + 0.9 * 0.7 - 0.2) = (0.95, -0.5, 2.43).
  EXPECT_TRUE(
      torch::allclose(t.pg_advantages, torch::tensor({{0.95f}, {-0.5f}, {2.43f}}), 1e-5, 1e-6))
      << t.pg_advantages;
  EXPECT_TRUE(torch::allclose(t.rhos, torch::tensor({{1.f}, {0.5f}, {1.f}})));
}

TEST(VTraceTest, OnPolicyTargetsAreTheBootstrappedDiscountedReturns) {
  torch::manual_seed(3);
  auto logp = torch::randn({5, 4});
  auto rewards = torch::rand({5, 4});
  auto dones = (torch::rand({5, 4}) < 0.2).to(torch::kFloat32);
  auto values = torch::randn({5, 4});
  auto bootstrap = torch::randn({4});
  LossOptions options;
  options.discount = 0.8;
  VTraceTargets t = ComputeVTrace(logp, logp, rewards, dones, values, bootstrap, options);
  auto returns = DiscountedReturns(rewards, dones, bootstrap, 0.8);
  EXPECT_TRUE(torch::allclose(t.vs, returns, 1e-5, 1e-5));
}

TEST(VTraceTest, ClippingBoundsTheImportanceWeights) {
  auto mu = torch::full({2, 1}, std::log(0.01f));
  auto pi = torch::full({2, 1}, std::log(0.5f));  // ratio 50
  LossOptions options;
  options.rho_bar = 2.0;
  options.c_bar = 1.5;
  VTraceTargets t = ComputeVTrace(mu, pi, torch::ones({2, 1}), torch::zeros({2, 1}),
                                  torch::zeros({2, 1}), torch::zeros({1}), options);
  EXPECT_TRUE(torch::allclose(t.rhos, torch::full({2, 1}, 2.f)));
  // delta = 2 * 1 each; v1 = 2; v0 = 2 + 0.95 * 1.5 * 2 = 4.85.
  EXPECT_TRUE(torch::allclose(t.vs, torch::tensor({{4.85f}, {2.f}}), 1e-5, 1e-6)) << t.vs;
}

}  // namespace
}  // namespace rlrec::learner
