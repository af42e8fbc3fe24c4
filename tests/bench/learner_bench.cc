// The learner's update step on synthetic batches (no actors, no sockets): the time of one
// Trainer::Update (forward, backward, gradient clipping, Adam on the dense parameters and,
// with sparse tables, row-wise Adagrad on the touched rows) for the same batch and dense model
// at item tables of 10K and 10M rows. Sparse tables make an update cost what the batch
// touches: the two times should be close. Every update is checked: applied, finite, and the
// table rows it touched moved while the untouched ones did not.
//
//   build/bench/learner_bench [--seconds S] [--json]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/compute_threads.h"
#include "common/config.h"
#include "common/memory_plan.h"
#include "common/metrics.h"
#include "learner/mpi_world.h"
#include "learner/trainer.h"
#include "tests/bench/bench_flags.h"
#include "tests/model_inputs.h"

namespace rlrec::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double parameters = 0;
  double median_ms = 0;
  double mean_ms = 0;
  int updates = 0;
  uint64_t wrong = 0;
};

common::RunConfig BenchConfig(int rows) {
  common::RunConfig config;
  config.sim.corpus_size = rows;
  config.model.item_buckets = rows;
  config.model.hidden = 64;
  config.model.embedding_dim = 64;
  config.learner.table_optimizer = common::TableOptimizer::kRowAdagrad;
  return config;
}

// A batch as the learner makes from 4 trajectories of 20 steps of 32 users, ids over `rows`.
learner::Batch BenchBatch(const common::RunConfig& config, int rows, uint64_t seed) {
  const auto& s = config.sim;
  return testing::RandomBatch(/*T=*/20, /*N=*/4 * 32, s.candidates,
                              common::ObservationFeatures(s.topics), s.slate_size, s.history_length,
                              rows, s.topics, seed);
}

Figures Run(int rows, double seconds, const learner::MpiWorld& world) {
  const common::RunConfig config = BenchConfig(rows);
  torch::manual_seed(1);
  learner::Trainer trainer(config, world);
  Figures f;
  f.parameters = static_cast<double>(common::PlanMemory(config).parameters());
  std::vector<learner::Batch> batches;
  for (int i = 0; i < 8; ++i) batches.push_back(BenchBatch(config, rows, 100 + i));
  auto table = trainer.model()->SparseTables().at(0);
  std::vector<double> ms;
  const auto start = Clock::now();
  for (int u = 0; u < 3 || std::chrono::duration<double>(Clock::now() - start).count() < seconds;
       ++u) {
    const auto& batch = batches[u % batches.size()];
    // Check: the table's last row (item id rows - 1) stays put unless the batch holds that id.
    const auto before_last = table[rows].clone();
    const auto t0 = Clock::now();
    auto result = trainer.Update(batch);
    const double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!result.applied || !std::isfinite(result.terms.total.item<double>())) ++f.wrong;
    const bool last_touched = (batch.steps.candidate_items == rows - 1).any().item<bool>() ||
                              (batch.steps.history_items == rows - 1).any().item<bool>() ||
                              (batch.bootstrap.candidate_items == rows - 1).any().item<bool>() ||
                              (batch.bootstrap.history_items == rows - 1).any().item<bool>();
    if (!last_touched && !torch::equal(before_last, table[rows])) ++f.wrong;
    if (u >= 3) ms.push_back(t);  // after warm-up
  }
  std::sort(ms.begin(), ms.end());
  f.updates = static_cast<int>(ms.size());
  f.median_ms = ms[ms.size() / 2];
  for (double x : ms) f.mean_ms += x / ms.size();
  return f;
}

}  // namespace
}  // namespace rlrec::bench

int main(int argc, char** argv) {
  double seconds = 10;
  bool json = false;
  if (!rlrec::bench::ParseBenchFlags(argc, argv, "learner_bench [--seconds S] [--json]", &seconds,
                                     &json)) {
    return 2;
  }
  rlrec::common::SetComputeThreads(1);
  rlrec::learner::MpiWorld world;
  uint64_t wrong = 0;
  std::vector<std::pair<int, rlrec::bench::Figures>> results;
  for (int rows : {10'000, 10'000'000}) {
    results.emplace_back(rows, rlrec::bench::Run(rows, seconds, world));
    wrong += results.back().second.wrong;
  }
  const double ratio = results[1].second.median_ms / results[0].second.median_ms;
  if (json) {
    std::string out = "{\"cases\":[";
    for (size_t i = 0; i < results.size(); ++i) {
      rlrec::common::JsonObject o;
      o.Add("table_rows", static_cast<int64_t>(results[i].first))
          .Add("parameters", results[i].second.parameters)
          .Add("update_ms_median", results[i].second.median_ms)
          .Add("update_ms_mean", results[i].second.mean_ms)
          .Add("updates", static_cast<int64_t>(results[i].second.updates))
          .Add("wrong", static_cast<int64_t>(results[i].second.wrong));
      out += (i ? "," : "") + o.str();
    }
    std::printf("%s],\"ratio_10m_to_10k\":%.3f,\"wrong\":%llu}\n", out.c_str(), ratio,
                static_cast<unsigned long long>(wrong));
  } else {
    std::printf("%12s %14s | %10s %10s %8s %6s\n", "table rows", "parameters", "median ms",
                "mean ms", "updates", "#wrong");
    for (const auto& [rows, f] : results) {
      std::printf("%12d %14.0f | %10.2f %10.2f %8d %6llu\n", rows, f.parameters, f.median_ms,
                  f.mean_ms, f.updates, static_cast<unsigned long long>(f.wrong));
    }
    std::printf("update time at 10M rows / at 10K rows: %.3f\n", ratio);
  }
  return wrong == 0 ? 0 : 1;
}
