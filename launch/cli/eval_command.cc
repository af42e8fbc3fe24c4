#include "launch/cli/eval_command.h"

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "actors/sim/baselines.h"
#include "actors/sim/checkpoint_policy.h"
#include "actors/sim/evaluation.h"
#include "actors/sim/simulator_config.h"
#include "common/base/error.h"
#include "common/config/config.h"
#include "common/run/run_folder.h"
#include "launch/cli/command_flags.h"

namespace rlrec::launch {

int EvalCommand(int argc, const char* const* argv) {
  std::string policy_name;
  int users = 1000;
  uint64_t seed = 1;
  bool json = false;
  common::ProgramOptions own("Eval options");
  own.Add("policy", &policy_name,
          "random | popular | oracle-myopic | oracle-quality | checkpoint:PATH")
      .Add("users", &users, "held-out users to simulate", /*show_default=*/true)
      .Add("seed", &seed, "seed of the held-out users", /*show_default=*/true)
      .Flag("json", &json, "print one JSON object instead of a table");

  // checkpoint:RUN/checkpoints/X.pt without --config evaluates with RUN/config.ini.
  std::vector<std::string> words = common::OverridesAsFlags(argc, argv);
  const std::string policy_flag = FlagValue(words, "--policy");
  const std::string checkpoint =
      policy_flag.rfind("checkpoint:", 0) == 0 ? policy_flag.substr(11) : std::string();
  if (!checkpoint.empty()) DefaultConfig(&words, common::RunDir::ConfigOfCheckpoint(checkpoint));
  std::vector<const char*> args = AsArgv(words);
  auto parsed = common::ParseArgs(
      static_cast<int>(args.size()), args.data(), "rlrec eval",
      "--policy P [--users N] [--seed S] [--config F] [--json] [section.key=value ...]", own);
  if (!parsed) return 0;
  if (policy_name.empty()) throw common::InvalidInput("--policy is required (see --help)");
  if (users < 1 || users > 10000000) {
    throw common::InvalidInput("--users " + std::to_string(users) + " is out of range: [1, 1e7]");
  }
  const common::RunConfig& config = parsed->config;
  actors::InterestEvolutionOptions options = actors::SimulatorOptions(config, 0, 1);
  std::unique_ptr<actors::SlatePolicy> policy;
  if (!checkpoint.empty()) {
    policy = actors::LoadCheckpointPolicy(checkpoint, config);
  } else {
    policy = actors::MakeBaseline(policy_name, options, seed);
  }
  if (!policy) {
    throw common::InvalidInput("unknown policy '" + policy_name +
                               "': use random, popular, oracle-myopic, oracle-quality or "
                               "checkpoint:PATH");
  }
  actors::EvalReport report =
      actors::Evaluate(options, *policy, config.sim.slate_size, users, seed, policy_name);
  std::cout << (json ? actors::ReportJson(report) + "\n" : actors::FormatReport(report));
  return 0;
}

}  // namespace rlrec::launch
