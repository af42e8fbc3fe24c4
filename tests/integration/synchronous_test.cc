// Synchronous mode: the learner and its actors in lockstep make a run reproducible bit for
// bit, through real processes, sockets and snapshots.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <regex>

#include "common/config.h"
#include "common/policy_model.h"
#include "learner/checkpoint.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

constexpr int kUpdates = 15;

// Runs a small synchronous job to completion in `run` with `seed`; returns its output.
std::string TrainSynchronously(const std::string& run, int seed) {
  auto result = RunCommand(
      {BinDir() + "/rlrec", "train", "--config", SourceDir() + "/configs/local.ini", "--actors",
       "2", "--run-dir", run, "learner.synchronous=true",
       "run.max_updates=" + std::to_string(kUpdates), "run.budget_seconds=300",
       "run.report_every_updates=5", "run.seed=" + std::to_string(seed), "sim.users_per_actor=8",
       "actor.unroll=10", "sim.corpus_size=50", "model.user_encoder=gru"},
      300);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return result.output;
}

// metrics.jsonl without the fields that measure wall-clock time.
std::vector<std::string> MetricsWithoutTimes(const std::string& run) {
  static const std::regex timed(R"re("(time_s|env_steps_per_s|updates_per_s)":[^,}]*,?)re");
  std::vector<std::string> rows;
  for (const auto& row : ReadLines(run + "/metrics.jsonl")) {
    rows.push_back(std::regex_replace(row, timed, ""));
  }
  return rows;
}

// The parameters of the final checkpoint of `run`, by name.
std::vector<std::pair<std::string, torch::Tensor>> FinalWeights(const std::string& run) {
  common::RunConfig config;
  config.sim.corpus_size = 50;
  config.model.user_encoder = "gru";
  common::PolicyModel model(common::ModelOptions(config));
  torch::optim::Adam optimizer(model->parameters());
  auto counters = learner::LoadCheckpoint(run + "/checkpoints/final.pt", *model, optimizer);
  EXPECT_EQ(counters.counters.updates, uint64_t{kUpdates});
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& p : model->named_parameters()) weights.emplace_back(p.key(), p.value());
  return weights;
}

bool SameWeights(const std::string& run_a, const std::string& run_b) {
  auto a = FinalWeights(run_a), b = FinalWeights(run_b);
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
  EXPECT_EQ(rows, MetricsWithoutTimes(second));
  EXPECT_TRUE(SameWeights(first, second));

  // The comparison can tell runs apart: another seed gives other data and other weights.
  EXPECT_NE(rows, MetricsWithoutTimes(other_seed));
  EXPECT_FALSE(SameWeights(first, other_seed));
}

}  // namespace
}  // namespace rlrec::testing
