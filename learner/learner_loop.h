#ifndef RLREC_LEARNER_LEARNER_LOOP_H_
#define RLREC_LEARNER_LEARNER_LOOP_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/zmq_socket.h"

namespace rlrec::learner {

// Where the learner is and what it did, as reported at exit.
struct LearnerSummary {
  uint64_t updates = 0;
  uint64_t env_steps = 0;
  uint64_t trajectories = 0;
  uint64_t decode_errors = 0;
  uint64_t snapshot_version = 0;
  std::string stop_reason;
};

// Name of the file, in the run folder, that holds the lead's control endpoint from the time
// it is bound until the learner stops: launchers and tests read it to point actors at the
// learner.
inline constexpr char kControlEndpointFile[] = "control.endpoint";

// Trains until the budget (time, updates or env steps) is spent or `stop` becomes true.
// Writes into `run_dir` (created if missing): config.ini (the effective configuration,
// `effective_ini`), metrics.jsonl (one row per report), the control endpoint file and
// checkpoints/final.pt. Prints a progress line per report to stdout.
// Data path: PULL → decode in place → batch → device → loss → backward → step → PUB.
LearnerSummary RunLearner(const common::RunConfig& config, const std::string& effective_ini,
                          const std::string& run_dir, const common::ZmqContext& context,
                          const std::atomic<bool>& stop);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEARNER_LOOP_H_
