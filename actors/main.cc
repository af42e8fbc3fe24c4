// rlrec-actor: simulates users against the latest policy snapshot and sends trajectories to
// the learners. Options: see --help.
#include <torch/torch.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "actors/actor_loop.h"
#include "common/base/check.h"
#include "common/base/error.h"
#include "common/base/file_modes.h"
#include "common/base/json.h"
#include "common/base/logging.h"
#include "common/base/malloc_tuning.h"
#include "common/base/run_main.h"
#include "common/config/config.h"
#include "common/model/compute_threads.h"
#include "common/model/memory_plan.h"
#include "common/wire/control.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// The rank a launcher (mpirun, srun) gave this process, or 0. Actors are not MPI ranks, but
// a launcher that starts A of them numbers them 0..A-1.
uint32_t RankFromLauncher() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* value = std::getenv(name)) {
      try {
        return static_cast<uint32_t>(std::stoul(value));
      } catch (const std::exception&) {
        throw rlrec::common::InvalidInput(std::string("environment variable ") + name + "='" +
                                          value + "' is not a rank");
      }
    }
  }
  return 0;
}

int ActorMain(int argc, const char* const* argv) {
  // Nothing of the run is ever readable by other users (common/base/file_modes.h).
  rlrec::common::KeepRunFilesPrivate(/*group_readable=*/false);
  uint32_t actor_id = 0;
  rlrec::common::ProgramOptions own("Actor options");
  own.Add("actor-id", &actor_id,
          "this actor's id: seeds its users and names it in metrics (default: the "
          "process's rank when started by mpirun or srun, else 0)");
  auto args = rlrec::common::ParseArgs(argc, argv, "rlrec-actor",
                                       "--config FILE --transport.control ENDPOINT [options]", own);
  if (!args) return 0;
  rlrec::common::KeepRunFilesPrivate(args->config.run.group_readable);
  if (!own.given("actor-id")) actor_id = RankFromLauncher();
  if (actor_id >= rlrec::common::kMaxActorId) {
    throw rlrec::common::InvalidInput("--actor-id " + std::to_string(actor_id) +
                                      " is out of range: must be below " +
                                      std::to_string(rlrec::common::kMaxActorId));
  }
  static std::string name = "actor-" + std::to_string(actor_id);
  rlrec::common::SetProcessName(name.c_str());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  rlrec::common::SetComputeThreads(args->config.actor.threads);
  rlrec::common::KeepFreedMemory();

  // A model that cannot fit says so now, before any allocation or connection.
  rlrec::common::CheckMemoryFits(args->config, 0, 1);
  rlrec::common::ZmqContext context;
  auto stats = rlrec::actors::RunActor(args->config, actor_id, context, g_stop);
  rlrec::common::JsonObject summary;
  summary.Add("event", "actor_exit")
      .Add("actor_id", static_cast<uint64_t>(actor_id))
      .Add("reason", stats.stop_reason)
      .Add("unrolls_sent", stats.unrolls_sent)
      .Add("env_steps", stats.env_steps)
      .Add("episodes", stats.episodes)
      .Add("snapshots_applied", stats.snapshots_applied)
      .Add("deltas_applied", stats.deltas_applied)
      .Add("refused_deltas", stats.refused_deltas)
      .Add("shared_snapshot", stats.shared_snapshot)
      .Add("receiver", stats.receiver)
      .Add("refused_segments", stats.refused_segments)
      .Add("refused_states", stats.refused_states)
      .Add("takeovers", stats.takeovers)
      .Add("first_version", stats.first_version)
      .Add("last_version", stats.last_version)
      .Add("send_blocked_s", stats.send_blocked_s)
      .Add("simulate_s", stats.times.simulate_s)
      .Add("infer_s", stats.times.infer_s)
      .Add("sample_s", stats.times.sample_s)
      .Add("encode_s", stats.times.encode_s);
  std::cout << summary.str() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  rlrec::common::SetProcessName("actor");
  return rlrec::common::RunMain("rlrec-actor", ActorMain, argc, argv);
}
