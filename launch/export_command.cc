#include "launch/export_command.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/policy_export.h"

namespace rlrec::launch {

int ExportCommand(int argc, const char* const* argv) {
  namespace po = boost::program_options;
  std::string checkpoint, out;
  po::options_description own("Export options");
  own.add_options()("checkpoint", po::value<std::string>(&checkpoint), "checkpoint to export")(
      "out", po::value<std::string>(&out), "folder for the model repository");
  std::vector<std::string> words = common::OverridesAsFlags(argc, argv);
  bool has_config = false;
  std::string given;
  for (size_t i = 0; i < words.size(); ++i) {
    has_config |= words[i] == "--config" || words[i].rfind("--config=", 0) == 0;
    if (words[i] == "--checkpoint" && i + 1 < words.size()) given = words[i + 1];
    if (words[i].rfind("--checkpoint=", 0) == 0) given = words[i].substr(13);
  }
  if (!has_config && !given.empty()) {
    auto run_config = std::filesystem::path(given).parent_path().parent_path() / "config.ini";
    if (std::filesystem::exists(run_config)) {
      words.push_back("--config");
      words.push_back(run_config.string());
    }
  }
  std::vector<const char*> args;
  for (auto& w : words) args.push_back(w.c_str());
  auto parsed = common::ParseArgs(static_cast<int>(args.size()), args.data(), "rlrec export",
                                  "--checkpoint C --out DIR [--config F]", own);
  if (!parsed) return 0;
  if (checkpoint.empty() || out.empty()) {
    throw common::InvalidInput("--checkpoint and --out are required (see --help)");
  }
  auto summary = common::ExportPolicy(checkpoint, parsed->config, out);
  // The run's settings go along: serve-check simulates users from them.
  const std::string run_config = out + "/rlrec_policy/run_config.ini";
  std::ofstream(run_config, std::ios::trunc) << parsed->effective_ini;
  std::cout << "rlrec export: " << summary.model_path << " (update " << summary.updates
            << ", snapshot " << summary.snapshot_version << "), metadata " << summary.metadata_path
            << "\n";
  return 0;
}

}  // namespace rlrec::launch
