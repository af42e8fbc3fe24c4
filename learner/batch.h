#ifndef RLREC_LEARNER_BATCH_H_
#define RLREC_LEARNER_BATCH_H_

#include <torch/torch.h>

#include <vector>

#include "common/policy_model.h"
#include "common/trajectory.h"

namespace rlrec::learner {

// Trajectories stacked along the user dimension, on the training device. N is the total of
// their users; T, R, F and K agree (the receiver checks).
struct Batch {
  torch::Tensor observations;           // float [T, N, R, F]
  torch::Tensor slates;                 // int64 [T, N, K]
  torch::Tensor behaviour_log_probs;    // float [T, N]
  torch::Tensor rewards;                // float [T, N]
  torch::Tensor dones;                  // float [T, N], 1 where a session ended
  torch::Tensor bootstrap_observation;  // float [N, R, F]
  // What the agent knows beyond the feature rows (see common/trajectory.h), for steps
  // ([T, N, ...]) and the bootstrap state ([N, ...]).
  struct Context {
    torch::Tensor candidate_items;    // int64 [..., C]
    torch::Tensor history_items;      // int64 [..., H]
    torch::Tensor history_topics;     // int64 [..., H]
    torch::Tensor history_responses;  // float [..., H]
  };
  Context context, bootstrap_context;
};

// Stacks `trajectories` into one batch on `device`. Reads the trajectories' bytes in place
// (they are not modified); the batch owns its own copies.
Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device);

// The model input of every state of `batch`: the T * N steps (step-major, row t * N + n) then
// the N bootstrap states.
common::PolicyInput AllStates(const Batch& batch);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_BATCH_H_
