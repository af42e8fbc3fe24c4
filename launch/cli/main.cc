// rlrec: the local launcher. `rlrec train ...` runs a whole job on this machine.
#include <cstring>
#include <iostream>

#include "common/base/check.h"
#include "common/base/error.h"
#include "common/base/file_modes.h"
#include "common/base/run_main.h"
#include "common/config/config.h"
#include "common/run/run_folder.h"
#include "launch/cli/eval_command.h"
#include "launch/cli/export_command.h"
#include "launch/cli/plot_command.h"
#include "launch/cli/serve_check_command.h"
#include "launch/cli/status_command.h"
#include "launch/cli/train_command.h"

namespace {

constexpr char kUsage[] =
    "usage: rlrec COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  train   train a policy: one learner and N actors on this machine\n"
    "  eval    measure a policy or a baseline on held-out simulated users\n"
    "  export  write a checkpoint's policy as TorchScript in a Triton model repository\n"
    "  serve-check  load an export as a server would; latency and throughput on CPU\n"
    "  plot    draw a run's curves (return, losses, lag, throughput) to RUN/curves.png\n"
    "  status  a run's state from its folder: running or not, last row, bottleneck, actors\n"
    "  run-dir-layout  the files of a run folder, as shell assignments for scripts\n"
    "\n"
    "`rlrec COMMAND --help` lists the options of a command.\n";

int LauncherMain(int argc, const char* const* argv) {
  // Nothing rlrec writes (run folders, exports, curves) is readable by other users;
  // `rlrec train` widens this to the group with run.group_readable (common/base/file_modes.h).
  rlrec::common::KeepRunFilesPrivate(/*group_readable=*/false);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "train") return rlrec::launch::TrainCommand(argc - 1, argv + 1);
  if (command == "eval") return rlrec::launch::EvalCommand(argc - 1, argv + 1);
  if (command == "export") return rlrec::launch::ExportCommand(argc - 1, argv + 1);
  if (command == "serve-check") return rlrec::launch::ServeCheckCommand(argc - 1, argv + 1);
  if (command == "plot") return rlrec::launch::PlotCommand(argc - 1, argv + 1);
  if (command == "status") return rlrec::launch::StatusCommand(argc - 1, argv + 1);
  if (command == "run-dir-layout") {
    // Scripts (launch/mpi-train, slurm/train.sbatch) take the run folder's file names from
    // here: eval "$(rlrec run-dir-layout)", then "$RUN_DIR/$RLREC_RUN_CONTROL_ENDPOINT".
    std::cout << rlrec::common::RunDirLayoutForShell();
    return 0;
  }
  throw rlrec::common::InvalidInput("unknown command '" + command + "' (see rlrec --help)");
}

}  // namespace

int main(int argc, char** argv) {
  rlrec::common::SetProcessName("rlrec");
  return rlrec::common::RunMain("rlrec", LauncherMain, argc, argv);
}
