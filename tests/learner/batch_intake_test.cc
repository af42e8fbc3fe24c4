// What the learner accepts into a batch: the policy-lag filter of asynchronous runs and the
// actor-id order of lockstep runs.
#include "learner/batch_intake.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

common::Trajectory Unroll(uint64_t version, uint32_t actor) {
  return testing::MakeTestTrajectory(/*T=*/2, /*E=*/3, /*C=*/4, /*F=*/6, /*K=*/2, version, actor);
}

common::RunConfig Config(int batch, int max_lag, bool synchronous = false, int actors = 0) {
  common::RunConfig c;
  c.learner.batch_trajectories = batch;
  c.learner.max_policy_lag = max_lag;
  c.learner.synchronous = synchronous;
  c.actor.count = actors;
  return c;
}

TEST(BatchIntakeTest, AsynchronousBatchesTakeArrivalOrderAndRecordLags) {
  BatchIntake intake(Config(/*batch=*/3, /*max_lag=*/0));
  RankReport report;
  EXPECT_TRUE(intake.Offer(Unroll(10, 2), 10, &report));
  EXPECT_TRUE(intake.Offer(Unroll(7, 0), 10, &report));
  EXPECT_FALSE(intake.Ready());
  EXPECT_TRUE(intake.Offer(Unroll(9, 1), 10, &report));
  ASSERT_TRUE(intake.Ready());
  EXPECT_EQ(report.env_steps, 3 * 2 * 3);
  EXPECT_EQ(report.episodes, 3 * 2);  // MakeTestTrajectory ends two sessions
  EXPECT_FLOAT_EQ(report.return_sum, 3 * (12.5 + 40.0));
  auto batch = intake.Take(10, &report);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].actor_id, 2u);
  EXPECT_EQ(batch[1].actor_id, 0u);
  EXPECT_EQ(batch[2].actor_id, 1u);
  EXPECT_EQ(report.lag_min, 0);
  EXPECT_EQ(report.lag_max, 3);
  EXPECT_EQ(report.lag_sum, 0 + 3 + 1);
  EXPECT_EQ(report.lag_count, 3);
  EXPECT_FALSE(intake.Ready());
}

TEST(BatchIntakeTest, TrajectoriesOlderThanTheLagBoundAreDroppedAndTheirStepsNotCounted) {
  BatchIntake intake(Config(/*batch=*/1, /*max_lag=*/2));
  RankReport report;
  EXPECT_FALSE(intake.Offer(Unroll(7, 0), 10, &report));  // lag 3
  EXPECT_EQ(report.dropped_stale, 1);
  EXPECT_EQ(report.env_steps, 0);
  EXPECT_FALSE(intake.Ready());
  EXPECT_TRUE(intake.Offer(Unroll(8, 0), 10, &report));  // lag 2: kept
  EXPECT_TRUE(intake.Ready());
}

TEST(BatchIntakeTest, AVersionNeverPublishedIsRefusedAndCountedNotTakenForLagZero) {
  // The lead publishes a version after it takes it: anything newer is forged (or from before
  // a resume), and at lag 0 it would slip past max_policy_lag.
  BatchIntake lead(Config(/*batch=*/1, /*max_lag=*/2));
  RankReport report;
  EXPECT_FALSE(lead.Offer(Unroll(~uint64_t{0}, 0), 10, &report));
  EXPECT_FALSE(lead.Offer(Unroll(11, 0), 10, &report));
  EXPECT_EQ(report.future_versions, 2);
  EXPECT_EQ(report.dropped_stale, 0);
  EXPECT_EQ(report.env_steps, 0);
  EXPECT_EQ(report.episodes, 0);
  EXPECT_FALSE(lead.Ready());
  EXPECT_TRUE(lead.Offer(Unroll(10, 0), 10, &report));
  // Another rank may hear of a version one update before it takes it, never two.
  BatchIntake other(Config(/*batch=*/2, /*max_lag=*/0), /*published_ahead=*/1);
  RankReport elsewhere;
  EXPECT_TRUE(other.Offer(Unroll(11, 0), 10, &elsewhere));
  EXPECT_FALSE(other.Offer(Unroll(12, 0), 10, &elsewhere));
  EXPECT_EQ(elsewhere.future_versions, 1);
  // No sum overflows at the top of the range.
  EXPECT_TRUE(other.Offer(Unroll(~uint64_t{0}, 1), ~uint64_t{0} - 1, &elsewhere));
  EXPECT_EQ(elsewhere.future_versions, 1);
}

TEST(BatchIntakeTest, LockstepTakesOneCurrentUnrollPerActorInActorIdOrder) {
  BatchIntake intake(Config(/*batch=*/4, 0, /*synchronous=*/true, /*actors=*/3));
  EXPECT_EQ(intake.batch_size(), 3u);
  RankReport report;
  EXPECT_TRUE(intake.Offer(Unroll(5, 2), 5, &report));
  EXPECT_FALSE(intake.Offer(Unroll(5, 2), 5, &report));  // a second unroll of actor 2
  EXPECT_FALSE(intake.Offer(Unroll(4, 0), 5, &report));  // an older snapshot's
  EXPECT_FALSE(intake.Offer(Unroll(5, 3), 5, &report));  // an actor the run does not have
  EXPECT_EQ(report.dropped_stale, 3);
  EXPECT_TRUE(intake.Offer(Unroll(5, 1), 5, &report));
  EXPECT_FALSE(intake.Ready());
  EXPECT_TRUE(intake.Offer(Unroll(5, 0), 5, &report));
  ASSERT_TRUE(intake.Ready());
  auto batch = intake.Take(5, &report);
  ASSERT_EQ(batch.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(batch[i].actor_id, i);
  EXPECT_EQ(report.lag_max, 0);
  // The next update's round starts empty.
  EXPECT_TRUE(intake.Offer(Unroll(6, 2), 6, &report));
  EXPECT_FALSE(intake.Ready());
}

}  // namespace
}  // namespace rlrec::learner
