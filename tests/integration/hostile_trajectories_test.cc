// A real learner under attack on its trajectory socket: well-formed trajectories whose
// contents are out of range (ids outside their tables, NaN, infinities, finite values beyond
// what the world can produce, flags other than 0/1, repeated slate entries), one claiming a
// snapshot never published, and bit-flipped copies of a good one are dropped and counted, no
// metrics row carries what they claimed, and training goes on with finite losses to its last
// update.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <thread>

#include "common/wire/control.h"
#include "common/wire/trajectory_codec.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

template <typename T>
T* Mutable(const common::TensorView& view) {
  return static_cast<T*>(const_cast<void*>(view.data));
}

TEST(HostileTrajectoriesTest, CraftedAndBitFlippedTrajectoriesAreDroppedAndTrainingStaysFinite) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {"--run.max_updates=60"});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0);
  common::ZmqContext context;
  common::ControlClient client(context, control, 2, 5);
  const common::LearnerInfo info = client.Hello(/*actor_id=*/97);
  uint64_t version = 0;
  for (int i = 0; i < 600 && version == 0; ++i) {
    version = client.Status().latest_version;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(version, 0u) << ReadFile(run + "/learner.log");

  // Trajectories of the job's shape (SmallJobFlags: T 10, 8 users, 10 candidates, 20 topics,
  // slates of 2, history 10, no fixed corpus), each with one poisoned value.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::function<void(common::Trajectory&)>> poisons = {
      [](auto& t) { Mutable<int32_t>(t.steps.history_topics)[3] = 20; },
      // Finite, within the old absolute bounds or not, but beyond what the world can produce
      // (sim.time_budget 200: a session returns at most 2,724; a step 4). First, so that their
      // refusals are among those logged (5 per 10 s).
      [](auto& t) { t.episode_returns[1] = 3e36f; },
      [](auto& t) { Mutable<float>(t.steps.features)[0] = 1e5f; },  // a user row's clicks
      [](auto& t) { Mutable<int32_t>(t.bootstrap.history_topics)[0] = -5; },
      [](auto& t) { Mutable<int64_t>(t.steps.candidate_items)[7] = 3; },
      [](auto& t) { Mutable<int64_t>(t.steps.history_items)[0] = int64_t{1} << 40; },
      [&](auto& t) { Mutable<float>(t.rewards)[5] = nan; },
      [&](auto& t) { Mutable<float>(t.rewards)[0] = inf; },
      [&](auto& t) { Mutable<float>(t.behaviour_log_probs)[2] = nan; },
      [](auto& t) { Mutable<float>(t.behaviour_log_probs)[2] = 5.f; },
      [](auto& t) { Mutable<uint8_t>(t.dones)[9] = 2; },
      [](auto& t) { Mutable<float>(t.steps.features)[100] = 1e30f; },
      [&](auto& t) { Mutable<float>(t.bootstrap.history_responses)[1] = nan; },
      [](auto& t) { Mutable<int32_t>(t.slates)[1] = Mutable<int32_t>(t.slates)[0]; },
      [&](auto& t) { t.episode_returns[0] = nan; },
      [](auto& t) { t.episode_returns[0] = 5000.f; },
      [](auto& t) { Mutable<float>(t.rewards)[3] = 5.f; },
      [](auto& t) { Mutable<float>(t.steps.history_responses)[2] = 100.f; },
  };
  common::ZmqSocket push(context, ZMQ_PUSH, "hostile PUSH");
  push.Connect(info.trajectory_endpoints[0]);
  const auto job_trajectory = [&] {
    common::Trajectory t = MakeTestTrajectory(10, 8, 10, 42, 2, version, /*actor_id=*/97, 10);
    UseFreshDocuments(t);
    KeepWithinWorld(t);
    return t;
  };
  for (const auto& poison : poisons) {
    common::Trajectory t = job_trajectory();
    poison(t);
    ASSERT_TRUE(push.Send(common::EncodeTrajectory(t), common::After(5)));
  }
  // A snapshot never published: at lag 0 it would pass learner.max_policy_lag.
  common::Trajectory future = job_trajectory();
  future.policy_version = std::numeric_limits<uint64_t>::max();
  ASSERT_TRUE(push.Send(common::EncodeTrajectory(future), common::After(5)));
  // Bit flips anywhere in a good trajectory's bytes: some still decode into something within
  // the contract (a flipped float that stays in bounds), the rest are refused.
  const std::vector<std::string> good = CopyFrames(common::EncodeTrajectory(job_trajectory()));
  std::mt19937_64 rng(11);
  const int flipped = 200;
  for (int i = 0; i < flipped; ++i) {
    std::vector<std::string> frames = good;
    std::string& frame = frames[rng() % frames.size()];
    frame[rng() % frame.size()] ^= static_cast<char>(1 << (rng() % 8));
    for (size_t f = 0; f < frames.size(); ++f) {
      ASSERT_TRUE(push.SendCopy(frames[f], f + 1 < frames.size(), common::After(5)));
    }
  }

  const auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "update"), 60) << rows.back();
  const auto errors = JsonNumber(rows.back(), "decode_errors");
  ASSERT_TRUE(errors);
  EXPECT_GE(*errors, static_cast<double>(poisons.size())) << rows.back();
  EXPECT_LE(*errors, static_cast<double>(poisons.size() + flipped)) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "skipped_updates"), 0) << rows.back();
  // The future one, and any bit flip that made a version bigger.
  const auto future_versions = JsonNumber(rows.back(), "future_versions");
  ASSERT_TRUE(future_versions) << rows.back();
  EXPECT_GE(*future_versions, 1) << rows.back();
  EXPECT_LE(*future_versions, 1 + flipped) << rows.back();
  for (const auto& row : rows) {
    if (auto loss = JsonNumber(row, "total_loss")) {
      EXPECT_TRUE(std::isfinite(*loss)) << row;
    }
    if (auto mean_return = JsonNumber(row, "mean_return")) {
      EXPECT_LE(*mean_return, 2724) << row;
    }
  }
  const std::string log = ReadFile(run + "/learner.log");
  EXPECT_NE(log.find("history_topics[3] is 20"), std::string::npos) << log;
  EXPECT_NE(log.find("episode_returns[1] is 3e+36, expected a finite value in [-0.001, 2751.24]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("features[0] is 100000, expected a finite value in [-0.001, 10.101] (the "
                     "user row, feature 0)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("claiming snapshot 18446744073709551615, never published"), std::string::npos)
      << log;
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/final.pt"));
}

}  // namespace
}  // namespace rlrec::testing
