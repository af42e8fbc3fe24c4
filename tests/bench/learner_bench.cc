// The learner's update step on synthetic batches (no actors, no sockets).
//
// Item tables: the time of one Trainer::Update (forward, backward, gradient clipping, Adam on
// the dense parameters and, with sparse tables, row-wise Adagrad on the touched rows) for the
// same batch and dense model at item tables of 10K and 10M rows. Sparse tables make an update
// cost what the batch touches: the two times should be close. Every update is checked:
// applied, finite, and the table rows it touched moved while the untouched ones did not.
//
// Against a bare loop: Trainer::Update beside a bare LibTorch loop of the same model, loss and
// optimizer on the same pre-staged batches (forward, loss, backward, step, nothing else), for
// the configured model (configs/local.ini's by default, and then its transformer too):
// samples/s, update ms and achieved TFLOP/s, counted from the model's multiply-adds
// (ForwardFlops; backward counted as twice the forward). Histories shift from step to step as
// an unroll's do; a transformer is measured twice: on batches with their distinct impressions
// indexed, as the learner makes them (both loops then compute keys and values once per
// impression, and the TFLOP/s are those the full recompute would need: effective), and
// without ("/full").
//
//   build/bench/learner_bench [--seconds S] [--json] [--no-tables] [--config FILE]
//                             [--section.key=value ...]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/base/json.h"
#include "common/base/malloc_tuning.h"
#include "common/base/run_main.h"
#include "common/config/config.h"
#include "common/model/compute_threads.h"
#include "common/model/memory_plan.h"
#include "common/model/policy_model.h"
#include "common/model/torch_views.h"
#include "learner/ranks/mpi_world.h"
#include "learner/train/loss.h"
#include "learner/train/objective.h"
#include "learner/train/policy_optimizer.h"
#include "learner/train/trainer.h"
#include "learner/train/update_step.h"
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
    if (!result.Applied() || !std::isfinite(result.terms.total.item<double>())) ++f.wrong;
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

// Multiply-adds of the policy's forward pass for one state of C candidates and H history
// entries, as PolicyModelImpl computes it (matrix products only).
double ForwardMacs(const common::PolicyModelOptions& o, int64_t C, int64_t H) {
  const double D = o.hidden, F = o.feature_dim, E = o.embedding_dim > 0 ? o.embedding_dim : D;
  double macs = H * 2 * D;              // response projection of the history
  if (E != D) macs += (H + C) * E * D;  // item-id rows projected to the width
  if (o.user_encoder == common::UserEncoder::kGru) macs += H * 2 * 3 * D * D;
  if (o.user_encoder == common::UserEncoder::kTransformer) {
    const double L = o.layers, W = o.ffn > 0 ? o.ffn : 4 * D;
    macs += H * D * 2 * L * D;                            // keys and values of every layer
    macs += L * (D * D + 2 * H * D + D * D + 2 * D * W);  // query, attention, output, FFN
  }
  macs += (F + D) * D + D * D;          // user MLP
  macs += C * (F * D + D * D + F + D);  // item MLP, feature bias, scores
  macs += D * D + D;                    // value head
  return macs;
}

struct Comparison {
  std::string name;
  double samples = 0;  // per update (T * N)
  double flops = 0;    // per update
  double rlrec_ms = 0, bare_ms = 0;
  uint64_t wrong = 0;
};

// The median of `ms` after sorting.
double Median(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Times `a` and `b` alternately, one call each per round, for `seconds` (after 3 warm-up
// rounds): drifts in the machine's speed touch both alike. Returns their median ms.
std::pair<double, double> TimeAlternately(const std::function<void(int)>& a,
                                          const std::function<void(int)>& b, double seconds) {
  std::vector<double> a_ms, b_ms;
  const auto start = Clock::now();
  const auto time = [](const std::function<void(int)>& f, int u) {
    const auto t0 = Clock::now();
    f(u);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  for (int u = 0; u < 5 || std::chrono::duration<double>(Clock::now() - start).count() < seconds;
       ++u) {
    const double ta = time(a, u), tb = time(b, u);
    if (u >= 3) {
      a_ms.push_back(ta);
      b_ms.push_back(tb);
    }
  }
  return {Median(a_ms), Median(b_ms)};
}

// Trainer::Update against the bare loop on the same batches of `config`'s sizes.
Comparison Compare(const common::RunConfig& config, const std::string& name, double seconds,
                   const learner::MpiWorld& world, bool distinct = false) {
  const auto& s = config.sim;
  const int64_t T = config.actor.unroll,
                N = int64_t(config.learner.batch_trajectories) * s.users_per_actor;
  const common::PolicyModelOptions options = common::ModelOptions(config);
  const torch::Device device = config.learner.device == common::Device::kCuda
                                   ? torch::Device(torch::kCUDA)
                                   : torch::Device(torch::kCPU);
  std::vector<learner::Batch> batches;
  for (int i = 0; i < 4; ++i) {
    learner::Batch b = testing::RandomBatch(T, N, s.candidates, options.feature_dim, s.slate_size,
                                            s.history_length, std::max(1, options.item_buckets),
                                            std::max(1, s.topics), 200 + i);
    testing::ShiftHistories(&b);  // as an unroll's
    if (distinct) learner::IndexDistinctHistory(&b);
    for (auto* states : {&b.steps, &b.bootstrap}) {
      for (torch::Tensor* t : common::TensorsOf(*states)) *t = t->to(device);
    }
    for (auto* t : {&b.slates, &b.behaviour_log_probs, &b.rewards, &b.dones, &b.distinct_items,
                    &b.distinct_topics, &b.distinct_responses, &b.token_of}) {
      if (t->defined()) *t = t->to(device);
    }
    batches.push_back(std::move(b));
  }
  Comparison c;
  c.name = name;
  c.samples = double(T * N);
  c.flops = 3 * 2 * ForwardMacs(options, s.candidates, s.history_length) * double((T + 1) * N);
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  torch::manual_seed(1);
  learner::Trainer trainer(config, world);
  // The bare loop: the same model (same initial weights), loss and optimizer, nothing else.
  torch::manual_seed(1);
  common::PolicyModel model(options);
  model->to(device);
  learner::PolicyOptimizer optimizer(model->DenseParameters(), model->SparseTables(),
                                     config.learner.learning_rate,
                                     config.learner.table_learning_rate);
  const learner::LossOptions loss(config);
  std::tie(c.rlrec_ms, c.bare_ms) = TimeAlternately(
      [&](int u) {
        auto result = trainer.Update(batches[u % batches.size()]);
        if (!result.Applied()) ++c.wrong;
        sync();
      },
      [&](int u) {
        optimizer.zero_grad();
        torch::Tensor total;
        if (loss.autocast_bf16) {
          learner::CudaBf16Autocast autocast;
          total = learner::ObjectiveLoss(model, batches[u % batches.size()], loss).total;
        } else {
          total = learner::ObjectiveLoss(model, batches[u % batches.size()], loss).total;
        }
        total.backward();
        optimizer.step();
        sync();
      },
      seconds);
  for (const auto& p : model->parameters()) {
    if (!torch::isfinite(p).all().item<bool>()) ++c.wrong;
  }
  return c;
}

}  // namespace
}  // namespace rlrec::bench

namespace {

int BenchMain(int argc, const char* const* argv) {
  double seconds = 10;
  bool json = false, no_tables = false;
  rlrec::common::ProgramOptions extra("learner_bench");
  extra.Add("seconds", &seconds, "timed seconds per case", /*show_default=*/true)
      .Flag("json", &json, "print JSON")
      .Flag("no-tables", &no_tables, "skip the item-table cases");
  auto parsed =
      rlrec::common::ParseArgs(argc, argv, "learner_bench",
                               "learner_bench [--seconds S] [--json] [--no-tables] [--config FILE] "
                               "[--section.key=value ...]",
                               extra);
  if (!parsed) return 0;
  const bool tables = !no_tables;
  rlrec::common::SetComputeThreads(parsed->config.learner.threads);
  rlrec::common::KeepFreedMemory(rlrec::common::KeepFreed::kAll);  // as the learner
  rlrec::learner::MpiWorld world;
  uint64_t wrong = 0;

  // Against the bare loop: the configured model; with no --config, also its transformer.
  std::vector<rlrec::bench::Comparison> comparisons;
  {
    rlrec::common::RunConfig config = parsed->config;
    // A transformer's batches as the learner makes them (distinct impressions indexed), and
    // without that, the full recompute per history entry.
    const auto add = [&](const rlrec::common::RunConfig& c) {
      const std::string name = rlrec::common::ChoiceName(c.model.user_encoder);
      if (c.model.user_encoder != rlrec::common::UserEncoder::kTransformer) {
        comparisons.push_back(rlrec::bench::Compare(c, name, seconds, world));
        return;
      }
      comparisons.push_back(rlrec::bench::Compare(c, name, seconds, world, /*distinct=*/true));
      comparisons.push_back(rlrec::bench::Compare(c, name + "/full", seconds, world));
    };
    add(config);
    if (parsed->config_path.empty() &&
        config.model.user_encoder != rlrec::common::UserEncoder::kTransformer) {
      config.model.user_encoder = rlrec::common::UserEncoder::kTransformer;
      add(config);
    }
  }
  for (const auto& c : comparisons) wrong += c.wrong;
  std::string compare_json = "[";
  for (const auto& c : comparisons) {
    rlrec::common::JsonObject o;
    o.Add("model", c.name)
        .Add("samples_per_update", c.samples)
        .Add("update_ms", c.rlrec_ms)
        .Add("samples_per_s", c.samples / (c.rlrec_ms / 1e3))
        .Add("tflops", c.flops / (c.rlrec_ms / 1e3) / 1e12)
        .Add("bare_update_ms", c.bare_ms)
        .Add("bare_samples_per_s", c.samples / (c.bare_ms / 1e3))
        .Add("bare_tflops", c.flops / (c.bare_ms / 1e3) / 1e12)
        .Add("speed_vs_bare", c.bare_ms / c.rlrec_ms)
        .Add("wrong", c.wrong);
    compare_json += (compare_json.size() > 1 ? "," : "") + o.str();
  }
  compare_json += "]";
  if (!json) {
    std::printf("%-12s %8s | %10s %12s %8s | %10s %12s %8s | %8s\n", "model", "samples",
                "update ms", "samples/s", "TFLOP/s", "bare ms", "samples/s", "TFLOP/s", "vs bare");
    for (const auto& c : comparisons) {
      std::printf("%-12s %8.0f | %10.2f %12.0f %8.4f | %10.2f %12.0f %8.4f | %8.3f\n",
                  c.name.c_str(), c.samples, c.rlrec_ms, c.samples / (c.rlrec_ms / 1e3),
                  c.flops / (c.rlrec_ms / 1e3) / 1e12, c.bare_ms, c.samples / (c.bare_ms / 1e3),
                  c.flops / (c.bare_ms / 1e3) / 1e12, c.bare_ms / c.rlrec_ms);
    }
  }
  if (!tables) {
    if (json)
      std::printf("{\"compare\":%s,\"wrong\":%llu}\n", compare_json.c_str(),
                  static_cast<unsigned long long>(wrong));
    return wrong == 0 ? 0 : 1;
  }

  std::vector<std::pair<int, rlrec::bench::Figures>> results;
  for (int rows : {10'000, 10'000'000}) {
    results.emplace_back(rows, rlrec::bench::Run(rows, seconds, world));
    wrong += results.back().second.wrong;
  }
  const double ratio = results[1].second.median_ms / results[0].second.median_ms;
  if (json) {
    std::string out = "{\"compare\":" + compare_json + ",\"cases\":[";
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

}  // namespace

int main(int argc, char** argv) {
  return rlrec::common::RunMain("learner_bench", BenchMain, argc, argv);
}
