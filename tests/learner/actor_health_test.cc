#include "learner/actor_health.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

using common::Clock;
using std::chrono::milliseconds;

common::ActorReport Report(uint32_t id, double uptime_s, uint64_t env_steps, double blocked_s,
                           uint32_t pid = 100) {
  common::ActorReport r;
  r.actor_id = id;
  r.host = "h" + std::to_string(id);
  r.pid = pid;
  r.uptime_s = uptime_s;
  r.env_steps = env_steps;
  r.unrolls = env_steps / 100;
  r.snapshot_version = 5;
  r.simulate_s = uptime_s / 4;
  r.infer_s = uptime_s / 8;
  r.encode_s = 0;
  r.send_blocked_s = blocked_s;
  return r;
}

TEST(ActorHealthTest, RatesAndSharesComeFromTheWindowBetweenTwoReports) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/actors.jsonl";
  ActorHealth health(path, /*timeout_s=*/30);
  const auto t0 = Clock::now();
  health.Add(Report(3, 10, 1000, 1), /*latest_version=*/7, t0);
  // 10 s later: 4000 more steps, 8 of those seconds blocked on send.
  health.Add(Report(3, 20, 5000, 9), 7, t0 + std::chrono::seconds(10));
  const ActorState& a = health.actors().at(3);
  EXPECT_DOUBLE_EQ(a.env_steps_per_s, 400);
  EXPECT_DOUBLE_EQ(a.send_blocked_share, 0.8);
  EXPECT_DOUBLE_EQ(a.simulate_share, 0.25);
  EXPECT_EQ(a.lag, 2u);
  const ActorsSummary s = health.Check(t0 + std::chrono::seconds(11));
  EXPECT_EQ(s.alive, 1u);
  EXPECT_EQ(s.lost, 0u);
  EXPECT_DOUBLE_EQ(s.send_blocked_share, 0.8);
  EXPECT_DOUBLE_EQ(s.env_steps_per_s, 400);

  const auto rows = testing::ReadLines(path);
  ASSERT_EQ(rows.size(), 2u) << "one row per report";
  EXPECT_EQ(testing::JsonNumber(rows[1], "actor_id"), 3);
  EXPECT_EQ(testing::JsonNumber(rows[1], "pid"), 100);
  EXPECT_EQ(testing::JsonNumber(rows[1], "env_steps_per_s"), 400);
  EXPECT_EQ(testing::JsonNumber(rows[1], "snapshot_version"), 5);
  EXPECT_EQ(testing::JsonNumber(rows[1], "lag"), 2);
  EXPECT_NE(rows[1].find(R"("host":"h3")"), std::string::npos) << rows[1];
  EXPECT_NE(rows[1].find(R"("state":"alive")"), std::string::npos) << rows[1];
  EXPECT_GT(testing::JsonNumber(rows[1], "last_seen").value_or(0), 1.6e9);
}

TEST(ActorHealthTest, ARestartedActorStartsAFreshWindow) {
  ActorHealth health("", 30);
  const auto t0 = Clock::now();
  health.Add(Report(1, 100, 100000, 0), 5, t0);
  // Another process under the same id: its totals restart.
  health.Add(Report(1, 2, 600, 1, /*pid=*/200), 5, t0 + std::chrono::seconds(5));
  EXPECT_DOUBLE_EQ(health.actors().at(1).env_steps_per_s, 300);
  EXPECT_DOUBLE_EQ(health.actors().at(1).send_blocked_share, 0.5);
}

TEST(ActorHealthTest, ASilentActorIsLostOnceAndOneThatSaidGoodbyeIsNot) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/actors.jsonl";
  ActorHealth health(path, /*timeout_s=*/5);
  const auto t0 = Clock::now();
  health.Add(Report(0, 1, 100, 0), 1, t0);
  common::ActorReport bye = Report(1, 1, 100, 0);
  bye.leaving = true;
  health.Add(bye, 1, t0);
  EXPECT_EQ(health.Check(t0 + std::chrono::seconds(4)).lost, 0u);
  ActorsSummary s = health.Check(t0 + std::chrono::seconds(6));
  EXPECT_EQ(s.lost, 1u);
  EXPECT_EQ(s.alive, 0u);
  EXPECT_EQ(s.lost_ever, 1u);
  EXPECT_TRUE(std::isnan(s.send_blocked_share)) << "no alive actor: shares unknown";
  s = health.Check(t0 + std::chrono::seconds(7));
  EXPECT_EQ(s.lost_ever, 1u) << "declared lost once";
  // It comes back.
  health.Add(Report(0, 8, 800, 0), 1, t0 + std::chrono::seconds(8));
  s = health.Check(t0 + std::chrono::seconds(8));
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.alive, 1u);
  EXPECT_EQ(s.lost_ever, 1u);
  const std::string rows = testing::ReadFile(path);
  EXPECT_NE(rows.find(R"("state":"lost")"), std::string::npos) << rows;
  EXPECT_NE(rows.find(R"("state":"leaving")"), std::string::npos) << rows;
}

}  // namespace
}  // namespace rlrec::learner
