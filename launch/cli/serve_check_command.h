#ifndef RLREC_LAUNCH_CLI_SERVE_CHECK_COMMAND_H_
#define RLREC_LAUNCH_CLI_SERVE_CHECK_COMMAND_H_

namespace rlrec::launch {

// `rlrec serve-check --export DIR --users N [--seconds S] [--threads T] [--json]`: loads an
// export's TorchScript module with torch::jit::load, as a LibTorch server does, scores the
// observations of N held-out simulated users (ten random slates into their sessions, with
// the simulator of the export's run_config.ini) in requests of 1 and of 64 users, checks every
// answer (finite scores, K distinct candidates per slate) and prints p50/p99 latency,
// requests/s and users/s per batch size. Exit status 1 when an answer is wrong.
int ServeCheckCommand(int argc, const char* const* argv);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_SERVE_CHECK_COMMAND_H_
