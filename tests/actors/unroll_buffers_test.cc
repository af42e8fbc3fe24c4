// An actor's unroll buffers: the simulator writes into them step by step, the model reads
// them, and they go out as one valid trajectory without a copy.
#include "actors/unroll_buffers.h"

#include <gtest/gtest.h>

#include "actors/sim/interest_evolution.h"
#include "common/wire/trajectory_codec.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

TEST(UnrollBuffersTest, WhatTheSimulatorWritesIsWhatTheModelReadsAndTheTrajectorySends) {
  InterestEvolutionOptions o;
  o.num_users = 3;
  o.num_candidates = 4;
  o.corpus_size = 20;
  o.history_length = 5;
  InterestEvolutionSimulator sim(o);
  const int64_t T = 2, E = 3, C = 4, F = sim.feature_dim(), K = 2, H = 5;
  auto buffers = std::make_shared<UnrollBuffers>(T, E, C, F, K, H);
  for (int64_t t = 0; t < T; ++t) {
    sim.Observe(buffers->StepState(t));
    const common::TorchStates input = buffers->StepInput(t);
    EXPECT_EQ(input.features.sizes(), torch::IntArrayRef({E, C + 1, F}));
    EXPECT_EQ(input.history_topics.scalar_type(), torch::kInt32);
    // The model reads the same bytes the simulator wrote.
    EXPECT_EQ(input.candidate_items.data_ptr<int64_t>(), buffers->StepState(t).candidate_items);
    EXPECT_EQ(input.candidate_items[1][2].item<int64_t>(), int64_t(sim.candidate_item(1, 2)));
    buffers->slates[t].copy_(torch::tensor({{0, 1}, {2, 3}, {1, 0}}, torch::kInt32));
    buffers->log_probs[t].fill_(-1.5);
    sim.Step(buffers->slates[t].data_ptr<int32_t>(), K, buffers->rewards[t].data_ptr<float>(),
             buffers->dones[t].data_ptr<uint8_t>());
  }
  sim.Observe(buffers->BootstrapState());
  std::weak_ptr<UnrollBuffers> watch = buffers;
  common::Trajectory t = UnrollBuffers::ToTrajectory(std::move(buffers), /*actor_id=*/6,
                                                     /*version=*/11, {3.5f});
  EXPECT_NO_THROW(common::ValidateTrajectory(t));
  EXPECT_EQ(t.actor_id, 6u);
  EXPECT_EQ(t.policy_version, 11u);
  EXPECT_EQ(t.unroll_length, 2u);
  EXPECT_EQ(t.num_users, 3u);
  EXPECT_EQ(t.steps.features.shape, (std::vector<int64_t>{T, E, C + 1, F}));
  EXPECT_EQ(t.bootstrap.history_items.shape, (std::vector<int64_t>{E, H}));
  EXPECT_EQ(t.episode_returns, std::vector<float>{3.5f});
  // The trajectory owns the buffers, and its encoding shares them.
  EXPECT_FALSE(watch.expired());
  common::OutgoingMessage message = common::EncodeTrajectory(t);
  t = common::Trajectory();
  EXPECT_FALSE(watch.expired());
  message = common::OutgoingMessage();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace rlrec::actors
