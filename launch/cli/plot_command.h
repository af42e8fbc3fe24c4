#ifndef RLREC_LAUNCH_CLI_PLOT_COMMAND_H_
#define RLREC_LAUNCH_CLI_PLOT_COMMAND_H_

#include <string>

#include "common/run/run_folder.h"

namespace rlrec::launch {

// Draws RUN_DIR/curves.png from RUN_DIR/metrics.jsonl with gnuplot: mean return, the loss
// terms, policy lag and throughput against environment steps (the data goes to
// RUN_DIR/curves.tsv, the script to RUN_DIR/curves.gp, both kept for re-plotting).
// Returns the PNG's path. Throws Error(kInvalidInput) when the run has no metrics, and
// Error(kUnavailable) when gnuplot is missing or fails.
std::string PlotRun(const common::RunDir& run);

// `rlrec plot RUN_DIR`. `argv[0]` is "plot". Returns the exit code.
int PlotCommand(int argc, const char* const* argv);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_PLOT_COMMAND_H_
