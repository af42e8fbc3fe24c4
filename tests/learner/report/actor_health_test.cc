#include "learner/report/actor_health.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

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
  health.Admit({0, 1, 2, 3});
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
  health.Admit({0, 1, 2, 3});
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
  health.Admit({0, 1, 2, 3});
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

// Rows of `lines` as (actor id, uptime) pairs; fails the test on a line that is not a row.
std::vector<std::pair<double, double>> Rows(const std::vector<std::string>& lines) {
  std::vector<std::pair<double, double>> rows;
  for (const auto& line : lines) {
    const auto id = testing::JsonNumber(line, "actor_id");
    const auto uptime = testing::JsonNumber(line, "uptime_s");
    EXPECT_TRUE(id && uptime) << "not a whole row: " << line;
    if (id && uptime) rows.emplace_back(*id, *uptime);
  }
  return rows;
}

TEST(ActorHealthTest, AFullActorsFileMovesAsideAndTheTwoKeepTheNewestRowsInOrder) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/actors.jsonl";
  const std::string previous = path + ".1";
  constexpr uint64_t kLimit = 2000;  // bytes: a few rows of ~350
  {
    // A resumed run's file counts from the size it already has.
    std::ofstream(path) << std::string(kLimit - 100, ' ') << "\n";
  }
  ActorHealth health(path, /*timeout_s=*/30, kLimit);
  health.Admit({0, 1, 2, 3});
  const auto t0 = Clock::now();
  constexpr int kReports = 60;
  for (int i = 1; i <= kReports; ++i) {
    health.Add(Report(uint32_t(i % 4), /*uptime_s=*/i, 100 * i, 0), 1, t0 + milliseconds(i));
    if (i == 1) {
      EXPECT_TRUE(std::filesystem::exists(previous)) << "the old rows pushed it past the limit";
    }
  }
  const auto current = Rows(testing::ReadLines(path));
  const auto moved = Rows(testing::ReadLines(previous));
  ASSERT_FALSE(current.empty());
  ASSERT_FALSE(moved.empty());
  EXPECT_LE(std::filesystem::file_size(path), kLimit + 400);
  EXPECT_GT(std::filesystem::file_size(previous), kLimit) << "moved once it passed the limit";
  EXPECT_LE(std::filesystem::file_size(previous), kLimit + 400);
  // The two files hold the newest reports, each once, in order, up to the last one.
  std::vector<std::pair<double, double>> all = moved;
  all.insert(all.end(), current.begin(), current.end());
  EXPECT_EQ(all.back().second, kReports);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].second, all[i - 1].second + 1) << "row " << i << " follows the one before";
  }
  EXPECT_GT(all.size(), 6u);
}

TEST(ActorHealthTest, AFileThatCannotMoveAsideKeepsTakingRows) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/actors.jsonl";
  // A non-empty folder where the moved file would go: rename() fails.
  std::filesystem::create_directories(path + ".1/x");
  ActorHealth health(path, /*timeout_s=*/30, /*rotate_bytes=*/500);
  health.Admit({0, 1, 2, 3});
  const auto t0 = Clock::now();
  for (int i = 1; i <= 10; ++i) {
    health.Add(Report(0, i, 100 * i, 0), 1, t0 + milliseconds(i));
  }
  const auto rows = Rows(testing::ReadLines(path));
  ASSERT_EQ(rows.size(), 10u) << "no row lost";
  EXPECT_EQ(rows.back().second, 10);
  EXPECT_TRUE(std::filesystem::is_directory(path + ".1"));
}

TEST(ActorHealthTest, ReportsOfActorsNotAdmittedAreHeldBoundedAndTakenOnAdmission) {
  ActorHealth health("", /*timeout_s=*/5);
  const auto t0 = Clock::now();
  // A flood of hellos' worth of spoofed ids, then a real actor's report.
  for (uint32_t id = 100; id < 100 + ActorHealth::kMaxHeld + 500; ++id) {
    EXPECT_TRUE(health.Add(Report(id, 1, 100, 0), 1, t0));
  }
  EXPECT_TRUE(health.Add(Report(7, 1, 100, 0), 1, t0 + milliseconds(1)));
  EXPECT_TRUE(health.actors().empty()) << "nothing counts before its trajectories arrive";
  EXPECT_EQ(health.held_dropped(), 501u) << "held reports are bounded";
  ActorsSummary s = health.Check(t0 + std::chrono::seconds(1));
  EXPECT_EQ(s.alive, 0u);
  EXPECT_TRUE(health.admitted().empty());
  // Its trajectories arrive: its held report is taken as of when it came.
  health.Admit({7});
  ASSERT_EQ(health.actors().size(), 1u);
  EXPECT_EQ(health.actors().count(7), 1u);
  EXPECT_EQ(health.admitted().size(), 1u);
  s = health.Check(t0 + std::chrono::seconds(2));
  EXPECT_EQ(s.alive, 1u);
  // The other held reports expire with the timeout.
  health.Check(t0 + std::chrono::seconds(6));
  EXPECT_EQ(health.held_dropped(), uint64_t{ActorHealth::kMaxHeld} + 500);
  // An admitted actor's later reports count at once; a resumed run's admitted ids do too.
  health.Restore({8, 9});
  EXPECT_EQ(health.admitted().size(), 3u);
  EXPECT_TRUE(health.Add(Report(9, 1, 100, 0), 1, t0 + std::chrono::seconds(6)));
  EXPECT_EQ(health.actors().count(9), 1u);
}

TEST(ActorHealthTest, AReportOfImpossibleRatesIsRefused) {
  ActorHealth health("", 30);
  health.Admit({1});
  const auto t0 = Clock::now();
  EXPECT_FALSE(health.Add(Report(1, 1, uint64_t{1} << 50, 0), 1, t0));
  EXPECT_TRUE(health.actors().empty());
  EXPECT_EQ(health.refused(), 1u);
  EXPECT_TRUE(health.Add(Report(1, 10, 10000, 0), 1, t0));
  EXPECT_DOUBLE_EQ(health.actors().at(1).env_steps_per_s, 1000);
}

TEST(ActorHealthTest, AnActorLostLongAgoIsForgottenButStillCounted) {
  ActorHealth health("", /*timeout_s=*/5);
  health.Admit({0});
  const auto t0 = Clock::now();
  health.Add(Report(0, 1, 100, 0), 1, t0);
  EXPECT_EQ(health.Check(t0 + std::chrono::seconds(6)).lost, 1u);
  EXPECT_EQ(health.actors().size(), 1u);
  const ActorsSummary s = health.Check(t0 + std::chrono::seconds(5 * 10 + 1));
  EXPECT_TRUE(health.actors().empty());
  EXPECT_EQ(s.lost, 0u);
  EXPECT_EQ(s.lost_ever, 1u);
}

}  // namespace
}  // namespace rlrec::learner
