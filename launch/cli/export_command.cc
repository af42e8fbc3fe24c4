#include "launch/cli/export_command.h"

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "common/base/error.h"
#include "common/config/config.h"
#include "common/model/policy_export.h"
#include "common/run/run_folder.h"
#include "launch/cli/command_flags.h"

namespace rlrec::launch {

int ExportCommand(int argc, const char* const* argv) {
  std::string checkpoint, out;
  common::ProgramOptions own("Export options");
  own.Add("checkpoint", &checkpoint, "checkpoint to export")
      .Add("out", &out, "folder for the model repository");
  std::vector<std::string> words = common::OverridesAsFlags(argc, argv);
  const std::string given = FlagValue(words, "--checkpoint");
  if (!given.empty()) DefaultConfig(&words, common::RunDir::ConfigOfCheckpoint(given));
  std::vector<const char*> args = AsArgv(words);
  auto parsed = common::ParseArgs(static_cast<int>(args.size()), args.data(), "rlrec export",
                                  "--checkpoint C --out DIR [--config F]", own);
  if (!parsed) return 0;
  if (checkpoint.empty() || out.empty()) {
    throw common::InvalidInput("--checkpoint and --out are required (see --help)");
  }
  auto summary = common::ExportPolicy(checkpoint, parsed->config, out);
  std::cout << "rlrec export: " << summary.model_path << " (update " << summary.updates
            << ", snapshot " << summary.snapshot_version << "), metadata " << summary.metadata_path
            << "\n";
  return 0;
}

}  // namespace rlrec::launch
