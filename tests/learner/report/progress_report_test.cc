// How the learner reports: the window's metrics row, the progress line, and when reports
// are due.
#include "learner/report/progress_report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <thread>

#include "common/base/error.h"
#include "common/run/metrics_fields.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

using common::Clock;
using testing::JsonNumber;

ReportWindow TwoUpdates(Clock::time_point start) {
  ReportWindow w;
  w.start = start;
  w.env_steps_at_start = 1000;
  w.updates_at_start = 10;
  w.loss_count = 2;
  w.policy_loss = 1.0;
  w.value_loss = 3.0;
  w.entropy = 4.0;
  w.total_loss = 5.0;
  w.rho_sum = 1.5;
  w.return_sum = 300;
  w.episodes = 2;
  w.lag_min = 1;
  w.lag_max = 3;
  w.lag_sum = 8;
  w.lag_count = 4;
  w.wait_s = 0.5;  // of a 2 s window: 25%
  w.compute_s = 1.2;
  return w;
}

RunTotals Totals() {
  RunTotals t;
  t.time_s = 12.5;
  t.counters = {12, 3000, 6};
  t.trajectories_received = 40;
  t.decode_errors = 1;
  t.dropped_stale = 2;
  t.actors_seen = 3;
  t.learner_ranks = 2;
  return t;
}

TEST(ProgressReportTest, MetricsRowAveragesTheWindowAndCarriesTheTotals) {
  const auto start = Clock::now();
  const auto now = start + std::chrono::seconds(2);
  const std::string row = MetricsRow(TwoUpdates(start), Totals(), /*vtrace=*/true,
                                     /*final=*/false, now)
                              .str();
  EXPECT_EQ(JsonNumber(row, "time_s"), 12.5);
  EXPECT_EQ(JsonNumber(row, "update"), 12);
  EXPECT_EQ(JsonNumber(row, "env_steps"), 3000);
  EXPECT_DOUBLE_EQ(JsonNumber(row, "env_steps_per_s").value(), 1000);  // 2000 in 2 s
  EXPECT_DOUBLE_EQ(JsonNumber(row, "updates_per_s").value(), 1);
  EXPECT_EQ(JsonNumber(row, "policy_loss"), 0.5);
  EXPECT_EQ(JsonNumber(row, "value_loss"), 1.5);
  EXPECT_EQ(JsonNumber(row, "entropy"), 2.0);
  EXPECT_EQ(JsonNumber(row, "total_loss"), 2.5);
  EXPECT_EQ(JsonNumber(row, "mean_return"), 150);
  EXPECT_EQ(JsonNumber(row, "episodes"), 2);
  EXPECT_EQ(JsonNumber(row, "policy_lag_min"), 1);
  EXPECT_EQ(JsonNumber(row, "policy_lag_mean"), 2);
  EXPECT_EQ(JsonNumber(row, "policy_lag_max"), 3);
  EXPECT_EQ(JsonNumber(row, "trajectories_received"), 40);
  EXPECT_EQ(JsonNumber(row, "decode_errors"), 1);
  EXPECT_EQ(JsonNumber(row, "dropped_stale"), 2);
  EXPECT_EQ(JsonNumber(row, "mean_rho"), 0.75);
  EXPECT_EQ(JsonNumber(row, "snapshot_version"), 6);
  EXPECT_EQ(JsonNumber(row, "actors_seen"), 3);
  EXPECT_EQ(JsonNumber(row, "learner_ranks"), 2);
  EXPECT_DOUBLE_EQ(JsonNumber(row, "learner_wait_share").value(), 0.25);
  EXPECT_DOUBLE_EQ(JsonNumber(row, "device_busy_share").value(), 0.6);
  EXPECT_EQ(JsonNumber(row, "final"), 0);
}

// The row holds every field of the table (common/run/metrics_fields.h), in the table's order,
// and nothing else: the table is the row.
TEST(ProgressReportTest, ARowHoldsExactlyTheTablesFieldsInItsOrder) {
  const auto start = Clock::now();
  const common::JsonObject row = MetricsRow(TwoUpdates(start), Totals(), /*vtrace=*/true,
                                            /*final=*/true, start + std::chrono::seconds(2));
  std::vector<std::string> keys, table;
  for (const auto& [key, value] : row.numbers()) keys.push_back(key);
  for (const auto& field : common::kMetricsFields) table.push_back(field.name);
  EXPECT_EQ(keys, table);
  for (const auto& field : common::kMetricsFields) {
    EXPECT_EQ(common::FindMetric(field.name), &field) << field.name;
  }
  EXPECT_EQ(common::FindMetric("no_such_field"), nullptr);
}

TEST(ProgressReportTest, AWindowWithoutUpdatesOrSessionsHasNullAverages) {
  ReportWindow empty;
  empty.start = Clock::now();
  RunTotals totals = Totals();
  const std::string row = MetricsRow(empty, totals, true, /*final=*/true, Clock::now()).str();
  for (const char* key : {"policy_loss", "value_loss", "entropy", "total_loss", "mean_return",
                          "policy_lag_min", "policy_lag_mean", "policy_lag_max", "mean_rho"}) {
    EXPECT_NE(row.find(std::string("\"") + key + "\":null"), std::string::npos) << key << row;
  }
  EXPECT_EQ(JsonNumber(row, "final"), 1);
  // mean_rho belongs to V-trace alone.
  const std::string pg =
      MetricsRow(TwoUpdates(Clock::now()), totals, /*vtrace=*/false, false, Clock::now()).str();
  EXPECT_NE(pg.find("\"mean_rho\":null"), std::string::npos) << pg;
}

TEST(ProgressReportTest, ProgressLineSaysTheWindowInOneLine) {
  const auto start = Clock::now();
  const std::string line =
      ProgressLine(TwoUpdates(start), Totals(), start + std::chrono::seconds(2));
  EXPECT_EQ(line,
            "[learner]   12.5s  updates 12  env_steps 3.0k (1.0k/s)  mean_return 150.00  "
            "lag 1/2.00/3  traj 40  decode_errors 1  actors 3  wait 25%  busy 60%\n");
  ReportWindow empty;
  empty.start = start;
  EXPECT_NE(ProgressLine(empty, Totals(), start).find("mean_return -  lag -"), std::string::npos);
}

TEST(ProgressReporterTest, ReportsByTimeOrByUpdatesAndWritesOneRowEach) {
  testing::TempDir dir;
  common::RunConfig config;
  config.run.report_every_s = 0.05;
  {
    ProgressReporter by_time(config, dir.path() + "/metrics.jsonl", {}, /*out=*/nullptr);
    EXPECT_FALSE(by_time.DueAfterUpdate(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    EXPECT_TRUE(by_time.DueNow(Clock::now()));
  }
  config.learner.synchronous = true;  // rows every 10 updates unless run.report_every_updates
  std::FILE* out = std::tmpfile();
  ProgressReporter by_updates(config, dir.path() + "/metrics.jsonl", {}, out);
  EXPECT_FALSE(by_updates.DueNow(Clock::now() + std::chrono::hours(1)));
  EXPECT_FALSE(by_updates.DueAfterUpdate(9));
  EXPECT_TRUE(by_updates.DueAfterUpdate(20));
  RankReport agreed;
  agreed.return_sum = 10;
  agreed.episodes = 1;
  agreed.dropped_stale = 4;
  agreed.AddLag(2);
  by_updates.AddAgreed(agreed);
  agreed.stop = StopReason::kSignal;  // a stopping round's lags are not of a trained batch
  agreed.AddLag(9);
  by_updates.AddAgreed(agreed);
  EXPECT_EQ(by_updates.dropped_stale(), 8u);
  RunTotals totals = Totals();
  totals.dropped_stale = by_updates.dropped_stale();
  by_updates.Report(totals, /*final=*/true);
  auto rows = testing::ReadLines(dir.path() + "/metrics.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(JsonNumber(rows[0], "episodes"), 2);
  EXPECT_EQ(JsonNumber(rows[0], "policy_lag_max"), 2);
  EXPECT_EQ(JsonNumber(rows[0], "dropped_stale"), 8);
  std::rewind(out);
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof(line), out), nullptr);
  EXPECT_EQ(std::string(line).rfind("[learner]", 0), 0u) << line;
  std::fclose(out);
}

// Two actors reporting, 80% of their time blocked on send; one more lost.
RunTotals WithActors() {
  RunTotals t = Totals();
  t.actors.alive = 2;
  t.actors.lost = 1;
  t.actors.lost_ever = 3;
  t.actors.env_steps_per_s = 5000;
  t.actors.simulate_share = 0.1;
  t.actors.infer_share = 0.05;
  t.actors.encode_share = 0.02;
  t.actors.send_blocked_share = 0.8;
  t.intake_busy_s = 10.5;
  t.checkpoint_age_s = 42;
  return t;
}

TEST(ProgressReportTest, RowsCarryWhereTheTimeWentOnBothSidesAndTheActorsHealth) {
  const auto start = Clock::now();
  ReportWindow w = TwoUpdates(start);
  w.wait_s = 0.1;
  w.publish_s = 0.2;
  w.intake_busy_at_start = 10;  // 0.5 s busy of the 2 s window
  const std::string row =
      MetricsRow(w, WithActors(), true, false, start + std::chrono::seconds(2)).str();
  EXPECT_DOUBLE_EQ(JsonNumber(row, "learner_wait_share").value(), 0.05);
  EXPECT_DOUBLE_EQ(JsonNumber(row, "learner_decode_share").value(), 0.25);
  EXPECT_DOUBLE_EQ(JsonNumber(row, "learner_publish_share").value(), 0.1);
  EXPECT_EQ(JsonNumber(row, "actors_alive"), 2);
  EXPECT_EQ(JsonNumber(row, "actors_lost"), 1);
  EXPECT_EQ(JsonNumber(row, "actors_lost_total"), 3);
  EXPECT_EQ(JsonNumber(row, "actor_env_steps_per_s"), 5000);
  EXPECT_EQ(JsonNumber(row, "actor_simulate_share"), 0.1);
  EXPECT_EQ(JsonNumber(row, "actor_infer_share"), 0.05);
  EXPECT_EQ(JsonNumber(row, "actor_encode_share"), 0.02);
  EXPECT_EQ(JsonNumber(row, "actor_send_blocked_share"), 0.8);
  EXPECT_EQ(JsonNumber(row, "checkpoint_age_s"), 42);
  EXPECT_GT(JsonNumber(row, "wall_time").value_or(0), 1.6e9);
  // Before any actor reports, their shares are unknown.
  const std::string early = MetricsRow(w, Totals(), true, false, start).str();
  EXPECT_NE(early.find("\"actor_send_blocked_share\":null"), std::string::npos) << early;
  EXPECT_NE(early.find("\"checkpoint_age_s\":null"), std::string::npos) << early;
}

TEST(ProgressReportTest, TheLineEndsWithWhatLimitsTheRunAndNamesLostActors) {
  const auto start = Clock::now();
  ReportWindow w = TwoUpdates(start);
  w.wait_s = 0.1;
  const std::string line = ProgressLine(w, WithActors(), start + std::chrono::seconds(2));
  EXPECT_NE(line.find("  actors_lost 1  learner-bound: actors blocked 80% on send\n"),
            std::string::npos)
      << line;
  // A learner that waits most of the time, its actors never blocked: actor-bound.
  RunTotals starved = WithActors();
  starved.actors.send_blocked_share = 0;
  starved.actors.lost = 0;
  w.wait_s = 1.5;
  w.intake_busy_at_start = starved.intake_busy_s;
  EXPECT_NE(ProgressLine(w, starved, start + std::chrono::seconds(2))
                .find("  actor-bound: learner waits 75%\n"),
            std::string::npos);
}

TEST(ProgressReporterTest, EveryRowAlsoGoesToTheRowSink) {
  common::RunConfig config;
  std::FILE* out = std::tmpfile();
  ProgressReporter reporter(config, "", {}, out);
  std::vector<std::string> seen;
  reporter.SetRowSink([&](const common::JsonObject& row) {
    seen.push_back(row.str());
    if (seen.size() == 2) throw common::Unavailable("a full disk, say");
  });
  reporter.Report(Totals(), false);
  reporter.Report(Totals(), false);  // the sink's error is logged, not thrown
  reporter.Report(Totals(), true);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(JsonNumber(seen[2], "final"), 1);
  EXPECT_EQ(JsonNumber(seen[0], "update"), 12);
  std::fclose(out);
}

TEST(ProgressReportTest, ValuesNoRunCanProduceAreRefusedBeforeAnySink) {
  // The world of the default config pays a session at most 2,724 (2,751 with the slack).
  common::RunConfig config;
  const RowBounds bounds = RowBounds::Of(config);
  EXPECT_NEAR(bounds.return_high, 2751.24, 0.01);
  const auto start = Clock::now();
  ReportWindow w = TwoUpdates(start);
  w.return_sum = 3.47e36;  // one forged session, as if it had passed the trajectory checks
  w.episodes = 1;
  w.lag_max = ~uint64_t{0};
  RunTotals totals = Totals();
  totals.counters.env_steps = uint64_t{1} << 60;  // past 2^53, and 1e17 steps a second
  totals.future_versions = 4;
  totals.actors.alive = 1;
  totals.actors.env_steps_per_s = std::numeric_limits<double>::infinity();
  totals.actors.send_blocked_share = -0.5;
  std::vector<std::string> refused;
  const std::string row =
      MetricsRow(w, totals, true, false, start + std::chrono::seconds(2), bounds, &refused).str();
  for (const char* key : {"mean_return", "env_steps", "env_steps_per_s", "policy_lag_max",
                          "actor_env_steps_per_s", "actor_send_blocked_share"}) {
    EXPECT_NE(row.find(std::string("\"") + key + "\":null"), std::string::npos) << key << row;
  }
  EXPECT_EQ(JsonNumber(row, "future_versions"), 4);
  EXPECT_EQ(JsonNumber(row, "update"), 12) << "what is within range stays";
  ASSERT_FALSE(refused.empty());
  std::string named;
  for (const auto& why : refused) named += why + "\n";
  EXPECT_NE(named.find("mean_return 3.47e+36 outside [-0.001, 2751.24]"), std::string::npos)
      << named;
  EXPECT_NE(named.find("actor_env_steps_per_s inf outside [0, 1e+12]"), std::string::npos) << named;
  // The progress line follows the same rule.
  const std::string line = ProgressLine(w, totals, start + std::chrono::seconds(2), bounds);
  EXPECT_NE(line.find("(-/s)  mean_return -  lag"), std::string::npos) << line;
  EXPECT_NE(line.find("future_versions 4"), std::string::npos) << line;
  EXPECT_EQ(line.find("3.47"), std::string::npos) << line;

  // A reporter applies the rule to every row it writes and hands on.
  testing::TempDir dir;
  std::FILE* out = std::tmpfile();
  ProgressReporter reporter(config, dir.path() + "/metrics.jsonl", {}, out);
  std::vector<std::string> seen;
  reporter.SetRowSink([&](const common::JsonObject& r) { seen.push_back(r.str()); });
  RankReport forged;
  forged.return_sum = 1e30;
  forged.episodes = 2;
  forged.future_versions = 3;
  reporter.AddAgreed(forged);
  EXPECT_EQ(reporter.future_versions(), 3u);
  totals.future_versions = reporter.future_versions();
  reporter.Report(totals, true);
  const auto rows = testing::ReadLines(dir.path() + "/metrics.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], rows[0]);
  EXPECT_NE(rows[0].find("\"mean_return\":null"), std::string::npos) << rows[0];
  EXPECT_EQ(JsonNumber(rows[0], "future_versions"), 3) << rows[0];
  std::fclose(out);
}

}  // namespace
}  // namespace rlrec::learner
