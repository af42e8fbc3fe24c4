#ifndef RLREC_LAUNCH_CLI_EVAL_COMMAND_H_
#define RLREC_LAUNCH_CLI_EVAL_COMMAND_H_

namespace rlrec::launch {

// `rlrec eval --policy P --users N --seed S [--config F] [--json] [key=value ...]`: runs N held-out
// simulated users (ids training never uses) with policy P (random, popular, oracle-myopic,
// oracle-quality or checkpoint:PATH) and prints mean return with its 95% interval, session
// length, click-through, watch time, precision/recall/F1/NDCG@K, coverage and diversity.
// For checkpoint:RUN/checkpoints/X.pt without --config, RUN/config.ini is used.
// `argv[0]` is "eval". Returns the exit code.
int EvalCommand(int argc, const char* const* argv);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_EVAL_COMMAND_H_
