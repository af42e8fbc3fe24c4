// A learner rank's intake socket over real loopback TCP: good trajectories arrive in place,
// anything else is counted and dropped, and a receive never outlives its deadline.
#include "learner/trajectory_receiver.h"

#include <gtest/gtest.h>

#include <cstring>

#include "actors/trajectory_sender.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

common::TrajectoryContract Shape() { return testing::TestContract(); }

TEST(TrajectoryReceiverTest, ReceivesWhatAnActorSendsAndDropsWhatDoesNotFit) {
  common::ZmqContext context;
  TrajectoryReceiver receiver(context, "tcp://127.0.0.1:*", 2, Shape());
  actors::TrajectorySender sender(context, {receiver.endpoint()}, 1);
  auto never = [] { return false; };
  const common::Trajectory good = testing::MakeTestTrajectory(2, 3, 4, 6, 2, 9, 5);
  const common::Trajectory wrong_shape = testing::MakeTestTrajectory(3, 3, 4, 6, 2, 9, 5);
  ASSERT_TRUE(sender.Send(wrong_shape, never, 10));
  ASSERT_TRUE(sender.Send(good, never, 10));
  auto got = receiver.Receive(common::After(10));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->actor_id, 5u);
  EXPECT_EQ(got->policy_version, 9u);
  EXPECT_EQ(got->steps.features.shape, good.steps.features.shape);
  EXPECT_EQ(std::memcmp(got->rewards.data, good.rewards.data, good.rewards.bytes), 0);
  EXPECT_EQ(receiver.received(), 1u);
  EXPECT_EQ(receiver.decode_errors(), 1u);
  EXPECT_GT(receiver.bytes_received(), 0u);
}

TEST(TrajectoryReceiverTest, ReturnsNothingAtTheDeadlineWhenNothingArrives) {
  common::ZmqContext context;
  TrajectoryReceiver receiver(context, "tcp://127.0.0.1:*", 2, Shape());
  const auto start = common::Clock::now();
  EXPECT_FALSE(receiver.Receive(common::After(0.05)).has_value());
  EXPECT_LT(common::SecondsSince(start), 2.0);
}

TEST(TrajectoryReceiverTest, ContractFollowsTheConfig) {
  common::RunConfig config;
  config.actor.unroll = 7;
  config.sim.candidates = 12;
  config.sim.topics = 5;
  const common::TrajectoryContract shape = common::TrajectoryContractOf(config);
  EXPECT_EQ(shape.unroll, 7);
  EXPECT_EQ(shape.rows, 13);
  EXPECT_EQ(shape.features, 12);
  EXPECT_EQ(shape.slate_size, config.sim.slate_size);
  EXPECT_EQ(shape.history, config.sim.history_length);
}

}  // namespace
}  // namespace rlrec::learner
