// The learner's intake thread over real loopback TCP: it receives, admits and stacks batches
// while the learner is busy, holds at most the batches it may stack ahead (the rest waits in
// the socket), judges staleness against the version the learner set, and hands back what it
// admitted but no update used.
#include "learner/intake_thread.h"

#include <gtest/gtest.h>

#include <thread>

#include "actors/trajectory_sender.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

constexpr int kT = 2, kE = 3;  // unroll and users of every test trajectory

common::Trajectory Unroll(uint64_t version, uint32_t actor) {
  return testing::MakeTestTrajectory(kT, kE, /*C=*/4, /*F=*/6, /*K=*/2, version, actor);
}

common::RunConfig Config(int batch, int max_lag = 0) {
  common::RunConfig c;
  c.learner.batch_trajectories = batch;
  c.learner.max_policy_lag = max_lag;
  return c;
}

// An intake on a fresh loopback socket, and an actor's sender connected to it.
struct Wired {
  explicit Wired(const common::RunConfig& config, uint64_t version = 9, size_t ahead = 1) {
    auto receiver = std::make_unique<TrajectoryReceiver>(context, "tcp://127.0.0.1:*", 4,
                                                         testing::TestContract());
    endpoint = receiver->endpoint();
    intake =
        std::make_unique<IntakeThread>(std::move(receiver), config, torch::kCPU, version, ahead);
    sender = std::make_unique<actors::TrajectorySender>(context, std::vector{endpoint}, 8);
  }
  void Send(const common::Trajectory& t) {
    ASSERT_TRUE(sender->Send(
        t, [] { return false; }, 10));
  }
  // Waits (10 s at most) until the intake has received `n` messages.
  bool ReceivedReaches(uint64_t n) {
    const auto deadline = common::After(10);
    while (intake->received() + intake->decode_errors() < n) {
      if (common::Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  common::ZmqContext context;
  std::string endpoint;
  std::unique_ptr<IntakeThread> intake;
  std::unique_ptr<actors::TrajectorySender> sender;
};

TEST(IntakeThreadTest, BatchesComeStackedWithWhatWasOfferedAndTheRemainderIsHandedBack) {
  Wired w(Config(/*batch=*/2));
  w.Send(Unroll(9, 0));
  w.Send(testing::MakeTestTrajectory(3, kE, 4, 6, 2, 9, 1));  // breaks the contract
  w.Send(Unroll(8, 1));
  for (uint32_t a = 2; a < 5; ++a) w.Send(Unroll(7, a));

  auto first = w.intake->Next(common::After(10));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->error.empty()) << first->error;
  EXPECT_EQ(first->batch.unroll(), kT);
  EXPECT_EQ(first->batch.users(), 2 * kE);
  EXPECT_EQ(first->policy_versions, (std::vector<uint64_t>{9, 8}));
  EXPECT_EQ(first->report.env_steps, 2 * kT * kE);
  EXPECT_EQ(first->report.episodes, 2 * 2);  // MakeTestTrajectory ends two sessions each
  EXPECT_EQ(first->report.lag_count, 0);     // lags are the learner's to take, when it trains

  auto second = w.intake->Next(common::After(10));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->policy_versions, (std::vector<uint64_t>{7, 7}));
  ASSERT_TRUE(w.ReceivedReaches(6));
  EXPECT_EQ(w.intake->decode_errors(), 1u);
  EXPECT_EQ(w.intake->received(), 5u);
  // The fifth good one is short of a batch: what it brought is handed back at the stop.
  const RankReport unused = w.intake->StopAndTakeUnused();
  EXPECT_EQ(unused.env_steps, kT * kE);
  EXPECT_FALSE(w.intake->Next(common::After(0.05)).has_value());
}

TEST(IntakeThreadTest, AtMostOneBatchWaitsAndTheRestStaysInTheSocket) {
  Wired w(Config(/*batch=*/1));
  for (uint32_t a = 0; a < 4; ++a) w.Send(Unroll(9, a));
  ASSERT_TRUE(w.ReceivedReaches(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(w.intake->received(), 1u);  // one batch ready, nobody took it: no more received
  for (uint32_t a = 0; a < 4; ++a) {
    auto ready = w.intake->Next(common::After(10));
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->policy_versions.size(), 1u);
  }
  EXPECT_EQ(w.intake->received(), 4u);
  EXPECT_EQ(w.intake->StopAndTakeUnused().env_steps, 0);
}

TEST(IntakeThreadTest, WithNoBatchAheadNothingIsReceivedUntilTheLearnerAsks) {
  Wired w(Config(/*batch=*/1), /*version=*/9, /*ahead=*/0);
  EXPECT_EQ(IntakeThread::AheadFor(torch::kCPU), 0u);
  for (uint32_t a = 0; a < 3; ++a) w.Send(Unroll(9, a));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(w.intake->received(), 0u);  // the learner is busy: it all stays in the socket
  for (uint32_t a = 0; a < 3; ++a) {
    auto ready = w.intake->Next(common::After(10));
    ASSERT_TRUE(ready.has_value());
    EXPECT_EQ(ready->policy_versions.size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(w.intake->received(), a + 1u);  // one batch per ask, none stacked ahead
  }
}

TEST(IntakeThreadTest, StalenessIsJudgedAgainstTheVersionTheLearnerSetLast) {
  Wired w(Config(/*batch=*/1, /*max_lag=*/2), /*version=*/9);
  w.Send(Unroll(7, 0));  // lag 2 at version 9: admitted
  auto ready = w.intake->Next(common::After(10));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->report.dropped_stale, 0);
  w.intake->SetVersion(12);
  w.Send(Unroll(9, 1));  // lag 3 at version 12: dropped
  ASSERT_TRUE(w.ReceivedReaches(2));
  EXPECT_FALSE(w.intake->Next(common::After(0.2)).has_value());
  const RankReport unused = w.intake->StopAndTakeUnused();
  EXPECT_EQ(unused.dropped_stale, 1);
  EXPECT_EQ(unused.env_steps, 0);
}

TEST(IntakeThreadTest, NextGivesUpAtItsDeadlineWhenNothingArrives) {
  Wired w(Config(/*batch=*/1));
  const auto start = common::Clock::now();
  EXPECT_FALSE(w.intake->Next(common::After(0.05)).has_value());
  EXPECT_LT(common::SecondsSince(start), 2.0);
}

}  // namespace
}  // namespace rlrec::learner
