// rlrec-learner: receives trajectories, trains the policy and publishes weight snapshots.
// Options: see --help.
#include <torch/torch.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "common/base/check.h"
#include "common/base/file_modes.h"
#include "common/base/json.h"
#include "common/base/malloc_tuning.h"
#include "common/base/run_main.h"
#include "common/config/config.h"
#include "common/model/compute_threads.h"
#include "common/model/memory_plan.h"
#include "common/run/run_folder.h"
#include "learner/learner_loop.h"
#include "learner/ranks/mpi_world.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// How memory scales, for --help (common/model/memory_plan.h computes it).
constexpr char kMemoryHelp[] =
    "Memory is checked before anything is allocated (common/model/memory_plan.h), naming the keys\n"
    "and the bytes when a model does not fit. The item tables hold (model.item_buckets + 1) x\n"
    "(model.embedding_dim + 1) floats, almost all of a large model. A learner needs about 2.6\n"
    "copies of the model (its weights, the latest full snapshot and the deltas since it, pages\n"
    "copied while a checkpoint is written in the background) and the optimiser's state\n"
    "(learner.table_optimizer: row_adagrad about 2 floats per table row, adam 3 per table\n"
    "float). A host of actors holds one copy and an eighth in its shared snapshot\n"
    "(actor.share_snapshot), or about 3 copies per actor without it.\n";

int LearnerMain(int argc, const char* const* argv) {
  // Nothing of the run is ever readable by other users (common/base/file_modes.h).
  rlrec::common::KeepRunFilesPrivate(/*group_readable=*/false);
  std::string run_dir;
  bool resume = false;
  rlrec::common::ProgramOptions own("Learner options");
  own.Add("run-dir", &run_dir, "run folder (default: run.runs_root/run.name)")
      .Flag("resume", &resume,
            "continue the run in the run folder from its newest valid checkpoint (counters, "
            "optimiser, ports); an error when there is none");
  // --device X is shorthand for --learner.device=X (cuda needs a CUDA build of LibTorch).
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--device" && i + 1 < argc) {
      word = std::string("--learner.device=") + argv[++i];
    } else if (word.rfind("--device=", 0) == 0) {
      word = "--learner.device=" + word.substr(9);
    }
    words.push_back(word);
  }
  std::vector<const char*> args_in;
  for (const auto& w : words) args_in.push_back(w.c_str());
  const std::string usage =
      std::string("--config FILE [--device cpu|cuda] [options]\n\n") + kMemoryHelp;
  auto args = rlrec::common::ParseArgs(static_cast<int>(args_in.size()), args_in.data(),
                                       "rlrec-learner", usage.c_str(), own);
  if (!args) return 0;
  rlrec::common::KeepRunFilesPrivate(args->config.run.group_readable);
  const rlrec::common::RunDir run = run_dir.empty() ? rlrec::common::RunDir::ForConfig(args->config)
                                                    : rlrec::common::RunDir(run_dir);
  // Under mpirun or srun, one rank of the learner job; otherwise the only learner.
  rlrec::learner::MpiWorld world;
  static std::string name;  // SetProcessName keeps the pointer
  if (world.size() > 1) {
    name = "learner." + std::to_string(world.rank());
    rlrec::common::SetProcessName(name.c_str());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  rlrec::common::SetComputeThreads(args->config.learner.threads);
  rlrec::common::KeepFreedMemory(rlrec::common::KeepFreed::kAll);

  // A model that cannot fit says so now, before any allocation or connection.
  rlrec::common::CheckMemoryFits(args->config, 1, 0);
  rlrec::common::ZmqContext context;
  auto summary = rlrec::learner::RunLearner(args->config, run, context, g_stop, world, resume);
  rlrec::common::JsonObject row;
  row.Add("event", "learner_exit")
      .Add("rank", world.rank())
      .Add("reason", summary.stop_reason)
      .Add("updates", summary.updates)
      .Add("env_steps", summary.env_steps)
      .Add("trajectories", summary.trajectories)
      .Add("decode_errors", summary.decode_errors)
      .Add("snapshot_version", summary.snapshot_version);
  std::cout << row.str() << std::endl;
  if (!summary.final_checkpoint_written) {
    std::cerr << "rlrec-learner: the final checkpoint (update " << summary.updates
              << ") could not be written (see the log); "
              << (summary.final_checkpoint.empty()
                      ? "no checkpoint remains in " + run.checkpoints()
                      : "the newest checkpoint that remains is " + summary.final_checkpoint +
                            " (update " + std::to_string(summary.final_checkpoint_update) + ")")
              << std::endl;
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rlrec::common::SetProcessName("learner");
  return rlrec::common::RunMain("rlrec-learner", LearnerMain, argc, argv);
}
