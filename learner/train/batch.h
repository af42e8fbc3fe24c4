#ifndef RLREC_LEARNER_TRAIN_BATCH_H_
#define RLREC_LEARNER_TRAIN_BATCH_H_

#include <torch/torch.h>

#include <vector>

#include "common/data/trajectory.h"
#include "common/model/policy_model.h"
#include "common/model/torch_views.h"

namespace rlrec::learner {

// Trajectories stacked along the user dimension, on the training device. N is the total of
// their users; T, R, F, K and H agree (the receiver checks).
struct Batch {
  common::TorchStates steps;          // [T, N, ...]: the state before each step
  torch::Tensor slates;               // int64 [T, N, K]
  torch::Tensor behaviour_log_probs;  // float [T, N]
  torch::Tensor rewards;              // float [T, N]
  torch::Tensor dones;                // float [T, N], 1 where a session ended
  common::TorchStates bootstrap;      // [N, ...]: the state after the last step
  // Optional (IndexDistinctHistory): the distinct impressions of every history entry of the
  // batch's states, U of them (int64, int32, float [U]), and for each entry of AllStates'
  // rows, which one it is (token_of, int64 [T * N + N, H]). A transformer encoder computes
  // keys and values once per distinct impression instead of once per entry.
  torch::Tensor distinct_items, distinct_topics, distinct_responses, token_of;

  int64_t unroll() const { return steps.features.size(0); }  // T
  int64_t users() const { return steps.features.size(1); }   // N
};

// Stacks `trajectories` into one batch on `device`. Reads the trajectories' bytes in place
// (they are not modified); the batch owns its own copies. `pinned` (CUDA devices only): each
// tensor is stacked into page-locked host memory and copied to the device without waiting,
// on the calling thread's current stream; the caller orders its use after that stream.
// `distinct_history`: with the distinct impressions indexed (IndexDistinctHistory).
Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device,
                bool pinned = false, bool distinct_history = false);

// Fills `batch`'s distinct_* and token_of, on the host (page-locked when `pinned`): two
// entries are one impression when item id, topic and response are equal (bit for bit), and
// every empty entry (topic < 0) is one. Consecutive steps of an unroll share all but the
// newest entries, so a batch of T steps of N users with H entries holds about N * (H + T * K)
// distinct impressions of its T * N * H entries.
void IndexDistinctHistory(Batch* batch, bool pinned = false);

// Every tensor of `batch`.
std::vector<torch::Tensor*> TensorsOf(Batch& batch);

// The model input of every state of `batch`: the T * N steps (step-major, row t * N + n) then
// the N bootstrap states.
common::PolicyInput AllStates(const Batch& batch);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_BATCH_H_
