// When an actor's users and random stream start afresh: never in asynchronous runs, at
// checkpoint boundaries in synchronous ones, always the same for the same epoch.
#include "actors/actor_epochs.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace rlrec::actors {
namespace {

common::RunConfig Config(bool synchronous, uint64_t checkpoint_every) {
  common::RunConfig c;
  c.learner.synchronous = synchronous;
  c.run.checkpoint_every = checkpoint_every;
  c.sim.users_per_actor = 4;
  return c;
}

TEST(ActorEpochsTest, AsynchronousRunsKeepOneEpoch) {
  ActorEpochs epochs(Config(false, 10), /*actor_id=*/1, /*first_version=*/25);
  EXPECT_EQ(epochs.epoch(), 0u);
  for (uint64_t v : {30, 40, 1000}) EXPECT_FALSE(epochs.Advance(v));
  EXPECT_EQ(epochs.simulator().num_users(), 4);
}

TEST(ActorEpochsTest, SynchronousRunsStartAnEpochAtEachCheckpointBoundary) {
  ActorEpochs epochs(Config(true, 10), 1, /*first_version=*/25);
  EXPECT_EQ(epochs.epoch(), 2u);  // resumed from update 20: epoch 2 began there
  EXPECT_FALSE(epochs.Advance(26));
  EXPECT_FALSE(epochs.Advance(29));
  EXPECT_TRUE(epochs.Advance(30));
  EXPECT_EQ(epochs.epoch(), 3u);
  EXPECT_FALSE(epochs.Advance(30));  // already there
}

TEST(ActorEpochsTest, AnEpochIsAFunctionOfSeedActorAndEpochAlone) {
  const common::RunConfig config = Config(true, 10);
  ActorEpochs a(config, 1, 20), b(config, 1, 0), other_actor(config, 2, 20);
  b.Advance(10);
  b.Advance(20);
  ASSERT_EQ(a.epoch(), b.epoch());
  EXPECT_EQ(a.simulator().user_id(0), b.simulator().user_id(0));
  EXPECT_NE(a.simulator().user_id(0), other_actor.simulator().user_id(0));
  EXPECT_TRUE(torch::equal(torch::rand({8}, a.generator()), torch::rand({8}, b.generator())));
  ActorEpochs c(config, 1, 30);  // the next epoch: other users, another stream
  EXPECT_NE(c.simulator().user_id(0), a.simulator().user_id(0));
  ActorEpochs d(config, 1, 20);
  EXPECT_FALSE(torch::equal(torch::rand({8}, c.generator()), torch::rand({8}, d.generator())));
}

}  // namespace
}  // namespace rlrec::actors
