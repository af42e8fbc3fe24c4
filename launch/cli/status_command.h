#ifndef RLREC_LAUNCH_CLI_STATUS_COMMAND_H_
#define RLREC_LAUNCH_CLI_STATUS_COMMAND_H_

#include <string>

#include "common/run/run_folder.h"

namespace rlrec::launch {

// What `rlrec status RUN` prints about the run in folder `run`, from its files alone (so it
// works for live and finished runs, here or on a shared filesystem): whether it runs (its
// control endpoint file is there and its metrics.jsonl moved lately), finished (a final row)
// or stopped without finishing; its last row and the bottleneck that row shows; each actor's
// newest row of actors.jsonl; its checkpoints; where TensorBoard and Prometheus read it.
// Throws Error(kInvalidInput) when `run` holds no run.
std::string DescribeRun(const common::RunDir& run);

// `rlrec status RUN`: prints DescribeRun. Returns 0, or 3 when the run stopped without
// finishing (crashed), for scripts.
int StatusCommand(int argc, const char* const* argv);

}  // namespace rlrec::launch

#endif  // RLREC_LAUNCH_CLI_STATUS_COMMAND_H_
