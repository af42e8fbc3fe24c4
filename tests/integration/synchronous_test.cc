// Synchronous mode: the learner and its actors in lockstep make a run reproducible bit for
// bit, through real processes, sockets and snapshots.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>

#include "common/config/config.h"
#include "common/model/policy_model.h"
#include "learner/train/checkpoint.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

constexpr int kUpdates = 15;

// Runs a small synchronous job to completion in `run` with `seed` for `updates` updates,
// with `extra` key=value words; returns its output.
std::string TrainSynchronously(const std::string& run, int seed, int updates = kUpdates,
                               const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {BinDir() + "/rlrec",
                                   "train",
                                   "--config",
                                   SourceDir() + "/configs/local.ini",
                                   "--actors",
                                   "2",
                                   "--run-dir",
                                   run,
                                   "learner.synchronous=true",
                                   "run.max_updates=" + std::to_string(updates),
                                   "run.budget_seconds=300",
                                   "run.report_every_updates=5",
                                   "run.seed=" + std::to_string(seed),
                                   "sim.users_per_actor=8",
                                   "actor.unroll=10",
                                   "sim.corpus_size=50",
                                   "model.user_encoder=gru"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto result = RunCommand(argv, 300);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

// metrics.jsonl rows after update `after`, without the fields that measure wall-clock time,
// nor trajectories_received: the learner's intake thread receives ahead of its updates, so
// when a row is written it may already hold the next update's first unrolls (and a resumed
// learner counts from zero).
std::vector<std::string> MetricsWithoutTimes(const std::string& run, double after = -1) {
  static const std::regex timed(
      R"re("(time_s|wall_time|env_steps_per_s|updates_per_s|learner_\w+_share|device_busy_share|)re"
      R"re(actors_alive|actors_lost|actor_\w+|checkpoint_age_s)":[^,}]*,?)re");
  static const std::regex received(R"re("trajectories_received":[^,}]*,?)re");
  std::vector<std::string> rows;
  for (const auto& row : ReadLines(run + "/metrics.jsonl")) {
    if (JsonNumber(row, "update").value_or(-1) <= after) continue;
    std::string kept = std::regex_replace(row, timed, "");
    kept = std::regex_replace(kept, received, "");
    rows.push_back(kept);
  }
  return rows;
}

// The parameters of the final checkpoint of `run`, by name.
std::vector<std::pair<std::string, torch::Tensor>> FinalWeights(const std::string& run,
                                                                int updates = kUpdates) {
  common::RunConfig config;
  config.sim.corpus_size = 50;
  config.model.user_encoder = common::UserEncoder::kGru;
  common::PolicyModel model(common::ModelOptions(config));
  torch::optim::Adam optimizer(model->parameters());
  auto counters = learner::LoadCheckpoint(run + "/checkpoints/final.pt", *model, optimizer);
  EXPECT_EQ(counters.counters.updates, uint64_t(updates));
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& p : model->named_parameters()) weights.emplace_back(p.key(), p.value());
  return weights;
}

bool SameWeights(const std::string& run_a, const std::string& run_b, int updates = kUpdates) {
  auto a = FinalWeights(run_a, updates), b = FinalWeights(run_b, updates);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || !torch::equal(a[i].second, b[i].second)) return false;
  }
  return true;
}

TEST(SynchronousTest, TwoRunsWithOneSeedGiveIdenticalMetricsAndWeights) {
  TempDir dir;
  const std::string first = dir.path() + "/first", second = dir.path() + "/second";
  const std::string other_seed = dir.path() + "/other-seed";
  TrainSynchronously(first, 1);
  TrainSynchronously(second, 1);
  TrainSynchronously(other_seed, 2);

  auto rows = MetricsWithoutTimes(first);
  // Rows at updates 5, 10, 15 and the final one; lockstep means no policy lag.
  ASSERT_EQ(rows.size(), 4u) << ReadFile(first + "/metrics.jsonl");
  EXPECT_EQ(JsonNumber(rows[2], "update"), kUpdates);
  EXPECT_EQ(JsonNumber(rows[2], "policy_lag_max"), 0);
  EXPECT_EQ(JsonNumber(rows[2], "env_steps"), kUpdates * 2 * 8 * 10);
  EXPECT_EQ(JsonNumber(rows[2], "dropped_stale"), 0);
  // Every trained unroll was received, and at most one more per actor ahead of the updates.
  const auto received =
      JsonNumber(ReadLines(first + "/metrics.jsonl").at(2), "trajectories_received");
  EXPECT_GE(received.value_or(0), kUpdates * 2);
  EXPECT_LE(received.value_or(0), kUpdates * 2 + 2);
  EXPECT_EQ(rows, MetricsWithoutTimes(second));
  EXPECT_TRUE(SameWeights(first, second));

  // The comparison can tell runs apart: another seed gives other data and other weights.
  EXPECT_NE(rows, MetricsWithoutTimes(other_seed));
  EXPECT_FALSE(SameWeights(first, other_seed));
}

TEST(SynchronousTest, ARunResumedFromACheckpointContinuesExactlyAsTheUninterruptedOne) {
  TempDir dir;
  const std::string whole = dir.path() + "/whole", resumed = dir.path() + "/resumed";
  // Short sessions, so some end within each 5-update epoch and rows carry returns.
  const std::vector<std::string> every5 = {"run.checkpoint_every=5", "sim.time_budget=20"};
  TrainSynchronously(whole, 1, 20, every5);
  TrainSynchronously(resumed, 1, 10, every5);  // stops at update 10, with its checkpoint
  auto again = RunCommand(
      {BinDir() + "/rlrec", "train", "--resume", resumed, "--actors", "2", "run.max_updates=20"},
      300);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(ReadFile(resumed + "/logs/learner.log").find("ckpt-000000000010.pt: update 10"),
            std::string::npos)
      << ReadFile(resumed + "/logs/learner.log");

  // From update 10 on, the same rows (rows at 15, 20 and the final one) and the same weights.
  auto rows = MetricsWithoutTimes(whole, 10);
  ASSERT_EQ(rows.size(), 3u) << ReadFile(whole + "/metrics.jsonl");
  EXPECT_GT(JsonNumber(rows[0], "episodes").value_or(0), 0) << "rows with data in them";
  EXPECT_EQ(rows, MetricsWithoutTimes(resumed, 10));
  EXPECT_TRUE(SameWeights(whole, resumed, 20));
}

}  // namespace
}  // namespace rlrec::testing
