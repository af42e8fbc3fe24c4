#include "launch/cli/serve_check_command.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/sim/baselines.h"
#include "actors/sim/interest_evolution.h"
#include "actors/sim/simulator_config.h"
#include "common/base/error.h"
#include "common/base/json.h"
#include "common/config/config.h"
#include "common/model/compute_threads.h"
#include "common/model/policy_export.h"
#include "common/model/torch_views.h"
#include "launch/cli/command_flags.h"

namespace rlrec::launch {
namespace {

using Clock = std::chrono::steady_clock;

struct Requests {
  int batch = 0;
  uint64_t requests = 0, wrong = 0;
  double p50_ms = 0, p99_ms = 0, requests_per_s = 0;
};

// Answers requests of `batch` users, cycling over the `inputs` of all users, for `seconds`
// after a warm-up; checks every answer.
Requests Serve(torch::jit::Module& module, const std::vector<torch::Tensor>& inputs, int batch,
               int k, double seconds) {
  const int64_t users = inputs[0].size(0);
  Requests r;
  r.batch = batch;
  std::vector<double> latencies;
  int64_t next = 0;
  auto request = [&](bool timed) {
    const int64_t start = next % std::max<int64_t>(1, users - batch + 1);
    next += batch;
    std::vector<torch::jit::IValue> args;
    for (const auto& x : inputs) args.emplace_back(x.narrow(0, start, batch).contiguous());
    const auto t0 = Clock::now();
    auto out = module.forward(args).toTuple();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const auto scores = out->elements()[0].toTensor();
    const auto slate = out->elements()[1].toTensor();
    bool ok = scores.size(0) == batch && slate.size(0) == batch && slate.size(1) == k &&
              torch::isfinite(scores).all().item<bool>();
    if (ok) {
      auto s = std::get<0>(torch::sort(slate, 1));
      ok = (s.min().item<int64_t>() >= 0) && (s.max().item<int64_t>() < scores.size(1)) &&
           (k < 2 || (s.narrow(1, 1, k - 1) != s.narrow(1, 0, k - 1)).all().item<bool>());
    }
    if (!timed) return;
    r.wrong += !ok;
    latencies.push_back(ms);
  };
  for (int i = 0; i < 20; ++i) request(false);
  const auto begin = Clock::now();
  double busy = 0;
  while (std::chrono::duration<double>(Clock::now() - begin).count() < seconds) {
    request(true);
    busy += latencies.back();
  }
  std::sort(latencies.begin(), latencies.end());
  r.requests = latencies.size();
  auto at = [&](double q) {
    return latencies[std::min(latencies.size() - 1, size_t(q * latencies.size()))];
  };
  r.p50_ms = at(0.50);
  r.p99_ms = at(0.99);
  r.requests_per_s = r.requests / (busy / 1000.0);
  return r;
}

}  // namespace

int ServeCheckCommand(int argc, const char* const* argv) {
  std::string export_dir;
  int users = 1000, threads = 1;
  double seconds = 2;
  bool json = false;
  common::ProgramOptions own("Serve-check options");
  own.Add("export", &export_dir, "folder `rlrec export` wrote")
      .Add("users", &users, "held-out users to score", /*show_default=*/true)
      .Add("seconds", &seconds, "timed seconds per batch size", /*show_default=*/true)
      .Add("threads", &threads, "LibTorch threads (per server)", /*show_default=*/true)
      .Flag("json", &json, "one JSON object per batch size");
  std::vector<std::string> words = common::OverridesAsFlags(argc, argv);
  // The simulator the users come from: the exported run's configuration.
  const std::string given = FlagValue(words, "--export");
  if (!given.empty()) DefaultConfig(&words, common::ExportedConfigPath(given));
  std::vector<const char*> args = AsArgv(words);
  auto parsed = common::ParseArgs(static_cast<int>(args.size()), args.data(), "rlrec serve-check",
                                  "--export DIR [--users N] [--seconds S] [--json]", own);
  if (!parsed) return 0;
  if (export_dir.empty()) throw common::InvalidInput("--export is required (see --help)");
  if (users < 64 || users > 1000000) {
    throw common::InvalidInput("--users " + std::to_string(users) + " is out of range: [64, 1e6]");
  }
  const common::RunConfig& config = parsed->config;
  const std::string model_path = common::ExportedModelPath(export_dir);
  common::SetComputeThreads(threads);
  torch::jit::Module module;
  try {
    module = torch::jit::load(model_path);
  } catch (const c10::Error& e) {
    throw common::InvalidInput("cannot load '" + model_path + "': " + e.what_without_backtrace());
  }
  module.eval();
  torch::NoGradGuard no_grad;

  // The observations of `users` held-out users ten random slates into their sessions, so
  // requests carry histories.
  actors::InterestEvolutionSimulator sim(
      actors::SimulatorOptions(config, actors::EvaluationUsers(config.run.seed), users));
  {
    actors::RandomPolicy random(config.run.seed);
    const int k = config.sim.slate_size;
    std::vector<int32_t> slates(size_t(users) * k);
    std::vector<float> rewards(users);
    std::vector<uint8_t> dones(users);
    for (int step = 0; step < 10; ++step) {
      random.Choose(sim, {}, k, slates.data());
      sim.Step(slates.data(), k, rewards.data(), dones.data());
    }
  }
  const int64_t E = users, C = sim.num_candidates(), F = sim.feature_dim();
  const int64_t H = sim.history_length();
  common::TorchStates observation = common::EmptyStates({E}, C, F, H);
  sim.Observe(common::PointersOf(observation));
  // The export takes every id as int64, in the order of the state tensors.
  observation.history_topics = observation.history_topics.to(torch::kInt64);
  std::vector<torch::Tensor> inputs;
  for (torch::Tensor* x : common::TensorsOf(observation)) inputs.push_back(*x);

  uint64_t wrong = 0;
  if (!json) {
    std::printf("rlrec serve-check: %s, %d held-out users, %d thread(s)\n", model_path.c_str(),
                users, threads);
    std::printf("%6s %10s %10s %12s %12s %8s\n", "batch", "p50 ms", "p99 ms", "requests/s",
                "users/s", "#wrong");
  }
  for (int batch : {1, 64}) {
    Requests r = Serve(module, inputs, batch, config.sim.slate_size, seconds);
    wrong += r.wrong;
    if (json) {
      common::JsonObject row;
      row.Add("batch", batch)
          .Add("requests", r.requests)
          .Add("p50_ms", r.p50_ms)
          .Add("p99_ms", r.p99_ms)
          .Add("requests_per_s", r.requests_per_s)
          .Add("users_per_s", r.requests_per_s * batch)
          .Add("threads", threads)
          .Add("wrong", r.wrong);
      std::printf("%s\n", row.str().c_str());
    } else {
      std::printf("%6d %10.3f %10.3f %12.0f %12.0f %8llu\n", batch, r.p50_ms, r.p99_ms,
                  r.requests_per_s, r.requests_per_s * batch,
                  static_cast<unsigned long long>(r.wrong));
    }
  }
  return wrong == 0 ? 0 : 1;
}

}  // namespace rlrec::launch
