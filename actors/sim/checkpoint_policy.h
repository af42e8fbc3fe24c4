#ifndef RLREC_ACTORS_SIM_CHECKPOINT_POLICY_H_
#define RLREC_ACTORS_SIM_CHECKPOINT_POLICY_H_

#include <memory>
#include <string>

#include "actors/sim/slate_policy.h"
#include "common/config/config.h"

namespace rlrec::actors {

// A trained policy from a learner checkpoint, choosing the greedy slate: the K candidates
// with the highest scores, best first. Sees only the observation.
// Throws Error(kInvalidInput) naming `path` when the checkpoint cannot be read or does not
// fit the model that `config` describes.
std::unique_ptr<SlatePolicy> LoadCheckpointPolicy(const std::string& path,
                                                  const common::RunConfig& config);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_CHECKPOINT_POLICY_H_
