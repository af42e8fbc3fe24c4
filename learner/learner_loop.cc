#include "learner/learner_loop.h"

#include <string>

#include "common/base/error.h"
#include "learner/learner_run.h"

namespace rlrec::learner {

void CheckLearnerSettings(const common::RunConfig& config, int ranks) {
  if (config.learner.synchronous && config.actor.count <= 0) {
    throw common::InvalidInput(
        "learner.synchronous needs actor.count > 0: each update waits for one unroll from each "
        "of that many actors (rlrec train passes the number it starts)");
  }
  if (config.learner.synchronous && ranks > 1) {
    throw common::InvalidInput("learner.synchronous runs one learner rank, not " +
                               std::to_string(ranks) +
                               ": actors spread their unrolls over ranks unpredictably");
  }
}

LearnerSummary RunLearner(const common::RunConfig& config, const common::RunDir& run_dir,
                          const common::ZmqContext& context, const std::atomic<bool>& stop,
                          const MpiWorld& world, bool resume) {
  CheckLearnerSettings(config, world.size());
  return LearnerRun(config, run_dir, context, world, resume).Run(stop);
}

}  // namespace rlrec::learner
