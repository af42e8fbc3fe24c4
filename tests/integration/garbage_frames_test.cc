// A learner that receives garbage and truncated frames on its trajectory socket counts them
// in decode_errors, drops them, and keeps training on what its real actor sends.
#include <gtest/gtest.h>

#include <thread>

#include "common/wire/control.h"
#include "common/wire/trajectory_codec.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

TEST(GarbageFramesTest, BadFramesAreCountedAsDecodeErrorsWhileTrainingGoesOn) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {"--run.max_updates=60"});
  std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0);

  common::ZmqContext context;
  common::ControlClient client(context, control, 2, 5);
  common::LearnerInfo info = client.Hello(/*actor_id=*/99);
  ASSERT_EQ(info.trajectory_endpoints.size(), 1u);
  // Wait until training is under way, so the garbage lands in a running learner.
  uint64_t updates_before = 0;
  for (int i = 0; i < 600 && updates_before == 0; ++i) {
    updates_before = client.Status().updates;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(updates_before, 0u) << ReadFile(run + "/learner.log");

  common::ZmqSocket push(context, ZMQ_PUSH, "garbage PUSH");
  push.Connect(info.trajectory_endpoints[0]);
  // A real trajectory of the job's shape, to cut short.
  common::OutgoingMessage real = common::EncodeTrajectory(MakeTestTrajectory(10, 8, 10, 22, 2));
  std::vector<std::string> real_frames;
  for (const auto& f : real.frames) {
    real_frames.emplace_back(static_cast<const char*>(f.data), f.bytes);
  }
  std::vector<std::vector<std::string>> bad = {
      {"garbage"},
      {std::string(4096, '\xab')},
      {std::string(64, '\0')},
      {real_frames.front().substr(0, real_frames.front().size() / 2)},
      {real_frames.front()},  // segments missing
      {std::string(16, '\x01'), std::string(7, '\x02')},
  };
  for (const auto& message : bad) {
    for (size_t i = 0; i < message.size(); ++i) {
      ASSERT_TRUE(push.SendCopy(message[i], i + 1 < message.size(), common::After(5)));
    }
  }
  // A valid trajectory of another shape (unroll 20): decodes, but cannot join the batches.
  ASSERT_TRUE(
      push.Send(common::EncodeTrajectory(MakeTestTrajectory(20, 8, 10, 22, 2)), common::After(5)));
  const int sent_bad = static_cast<int>(bad.size()) + 1;

  const auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "decode_errors"), sent_bad) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "update"), 60) << rows.back();
  EXPECT_GT(60u, updates_before) << "training went on after the garbage";
  EXPECT_NE(ReadFile(run + "/learner.log").find("dropped trajectory message"), std::string::npos);
}

TEST(StaleTrajectoryTest, TrajectoriesOlderThanMaxPolicyLagAreDroppedAndCounted) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  // The real actor's lag stays far below 20 (small queues); the test's trajectories are
  // at least 25 snapshots old.
  auto learner = StartLearner(run, {"--run.max_updates=80", "--learner.max_policy_lag=20"});
  std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0);
  common::ZmqContext context;
  common::ControlClient client(context, control, 2, 5);
  common::LearnerInfo info = client.Hello(/*actor_id=*/98);
  uint64_t version = 0;
  for (int i = 0; i < 600 && version < 25; ++i) {
    version = client.Status().latest_version;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(version, 25u) << ReadFile(run + "/learner.log");
  common::ZmqSocket push(context, ZMQ_PUSH, "stale PUSH");
  push.Connect(info.trajectory_endpoints[0]);
  // Valid trajectories of the job's shape, collected under snapshot 0: lag >= 25 > 20.
  for (int i = 0; i < 3; ++i) {
    common::Trajectory stale =
        MakeTestTrajectory(10, 8, 10, 42, 2, /*version=*/0, /*actor_id=*/98, /*H=*/10);
    UseFreshDocuments(stale);
    KeepWithinWorld(stale);
    ASSERT_TRUE(push.Send(common::EncodeTrajectory(stale), common::After(5)));
  }
  const auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "dropped_stale"), 3) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "decode_errors"), 0) << rows.back();
  // No batch trained on them: every report's lag stays within the bound (the last row may
  // cover no update, and so no lag).
  int lags = 0;
  for (const auto& row : rows) {
    if (auto lag = JsonNumber(row, "policy_lag_max")) {
      ++lags;
      EXPECT_LE(*lag, 20) << row;
    }
  }
  EXPECT_GT(lags, 0);
}

}  // namespace
}  // namespace rlrec::testing
