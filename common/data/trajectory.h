#ifndef RLREC_COMMON_DATA_TRAJECTORY_H_
#define RLREC_COMMON_DATA_TRAJECTORY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/data/state_tensors.h"
#include "common/data/tensor_view.h"

namespace rlrec::common {

// One unroll of `unroll_length` (T) steps of `num_users` (E) simulated users, all taken under
// snapshot `policy_version`: the state before each step (R = 1 + C feature rows of F features,
// and the ids behind them; common/data/state_tensors.h), the slate of K items chosen there, what
// it earned, and the state after the last step. The views point at bytes that `owner` keeps
// alive: the actor's unroll buffers when sending, the received ZeroMQ frames after decoding.
struct Trajectory {
  uint32_t actor_id = 0;
  uint64_t policy_version = 0;
  uint32_t unroll_length = 0;
  uint32_t num_users = 0;
  StateViews steps;                    // [T, E, ...]; steps.features is float32 [T, E, R, F]
  TensorView slates;                   // int32   [T, E, K], values in [0, C)
  TensorView behaviour_log_probs;      // float32 [T, E]
  TensorView rewards;                  // float32 [T, E]
  TensorView dones;                    // uint8   [T, E]
  StateViews bootstrap;                // [E, ...]: the state after the last step
  std::vector<float> episode_returns;  // sessions that ended inside this unroll
  std::shared_ptr<const void> owner;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_TRAJECTORY_H_
