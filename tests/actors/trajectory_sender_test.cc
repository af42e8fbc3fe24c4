// An actor's trajectory socket: unrolls reach every learner rank, a full queue blocks until
// the run ends or the learner is given up on.
#include "actors/trajectory_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "common/base/error.h"
#include "learner/trajectory_receiver.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

common::TrajectoryContract Shape() { return testing::TestContract(); }

TEST(TrajectorySenderTest, SpreadsUnrollsOverEveryLearnerRank) {
  common::ZmqContext context;
  learner::TrajectoryReceiver rank0(context, "tcp://127.0.0.1:*", 4, Shape());
  learner::TrajectoryReceiver rank1(context, "tcp://127.0.0.1:*", 4, Shape());
  TrajectorySender sender(context, {rank0.endpoint(), rank1.endpoint()}, 4);
  std::set<uint32_t> at0, at1;
  const auto deadline = common::After(20);
  for (uint32_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(sender.Send(
        testing::MakeTestTrajectory(2, 3, 4, 6, 2, 1, i), [] { return false; }, 10));
  }
  while (at0.size() + at1.size() < 6 && common::Clock::now() < deadline) {
    if (auto t = rank0.Receive(common::After(0.05))) at0.insert(t->actor_id);
    if (auto t = rank1.Receive(common::After(0.05))) at1.insert(t->actor_id);
  }
  EXPECT_EQ(at0.size() + at1.size(), 6u);
  EXPECT_FALSE(at0.empty());
  EXPECT_FALSE(at1.empty());
  EXPECT_EQ(sender.sent(), 6u);
}

TEST(TrajectorySenderTest, AFullQueueWaitsUntilCancelledAndCountsTheWait) {
  common::ZmqContext context;
  TrajectorySender sender(context, {"tcp://127.0.0.1:1"}, 1);  // nobody listens there
  std::atomic<int> polls{0};
  auto cancelled = [&] { return ++polls >= 3; };
  // ZeroMQ queues up to the high-water mark for a peer it has not reached yet; then it waits.
  int sent = 0;
  while (sent < 10 && sender.Send(testing::MakeTestTrajectory(2, 3, 4, 6, 2), cancelled, 60)) {
    ++sent;
  }
  EXPECT_LT(sent, 10) << "the queue never filled";
  EXPECT_EQ(sender.sent(), uint64_t(sent));
  EXPECT_GE(polls, 3);
  EXPECT_GE(sender.blocked_s(), 0.2);
}

TEST(TrajectorySenderTest, ALearnerThatTakesNothingIsGivenUpOnWithAnError) {
  common::ZmqContext context;
  TrajectorySender sender(context, {"tcp://127.0.0.1:1"}, 1);
  try {
    for (int i = 0; i < 10; ++i) {
      sender.Send(
          testing::MakeTestTrajectory(2, 3, 4, 6, 2), [] { return false; }, 0.3);
    }
    FAIL() << "sent ten unrolls to nobody";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("took no trajectory"), std::string::npos);
  }
}

}  // namespace
}  // namespace rlrec::actors
