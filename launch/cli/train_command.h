#ifndef RLREC_LAUNCH_CLI_TRAIN_COMMAND_H_
#define RLREC_LAUNCH_CLI_TRAIN_COMMAND_H_

#include <string>

namespace rlrec::launch {

// `rlrec train --config F [--actors N] [--run-dir D] [key=value ...]`: starts one learner and
// N actors on this machine as child processes on free loopback ports, relays the learner's
// progress lines, and on Ctrl-C, SIGTERM or the end of the budget stops all of them,
// leaving the run folder complete (config.ini, metrics.jsonl, checkpoints/final.pt, logs/).
// `argv[0]` is "train". Returns the exit code.
int TrainCommand(int argc, const char* const* argv);

// The folder of the running program (build/bin), where its sibling programs are.
std::string ProgramDirectory();

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_TRAIN_COMMAND_H_
