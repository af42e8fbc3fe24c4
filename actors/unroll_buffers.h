#ifndef RLREC_ACTORS_UNROLL_BUFFERS_H_
#define RLREC_ACTORS_UNROLL_BUFFERS_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/data/state_tensors.h"
#include "common/data/trajectory.h"
#include "common/model/torch_views.h"

namespace rlrec::actors {

// The tensors of one unroll of T steps of E users (C candidates of F features, K-item slates,
// H history entries), written step by step and sent as one trajectory without a copy. A new
// one for every unroll: the previous one may still be queued in ZeroMQ, which reads its bytes
// in place. Not thread-safe.
class UnrollBuffers {
 public:
  UnrollBuffers(int64_t T, int64_t E, int64_t C, int64_t F, int64_t K, int64_t H);

  // Where the simulator writes the state before step `t`, and the state after the last step.
  common::ObservationBuffers StepState(int64_t t);
  common::ObservationBuffers BootstrapState();
  // The state before step `t` as model input ([E, ...] views of the buffers).
  common::TorchStates StepInput(int64_t t) const;

  torch::Tensor slates;     // int32 [T, E, K]
  torch::Tensor log_probs;  // float [T, E]: behaviour log-probability of each slate
  torch::Tensor rewards;    // float [T, E]
  torch::Tensor dones;      // uint8 [T, E]

  // The unroll as a trajectory of `actor_id` under snapshot `version`, with the returns of
  // the sessions that ended in it; its views point into `buffers`, which it keeps alive.
  static common::Trajectory ToTrajectory(std::shared_ptr<const UnrollBuffers> buffers,
                                         uint32_t actor_id, uint64_t version,
                                         std::vector<float> episode_returns);

 private:
  common::TorchStates steps_;      // [T, E, ...]
  common::TorchStates bootstrap_;  // [E, ...]
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_UNROLL_BUFFERS_H_
