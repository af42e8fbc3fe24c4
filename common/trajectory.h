#ifndef RLREC_COMMON_TRAJECTORY_H_
#define RLREC_COMMON_TRAJECTORY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/tensor_view.h"

namespace rlrec::common {

// What the agent knows of a state beyond its feature rows (see trajectory.capnp's Context):
// candidate item ids and the user's last H impressions, with leading dimensions [T, E] in a
// trajectory and [E] for its bootstrap state.
struct ContextViews {
  TensorView candidate_items;    // int64   [..., C]; -1 for fresh documents
  TensorView history_items;      // int64   [..., H]; -1: none yet
  TensorView history_topics;     // int32   [..., H]; -1: none yet
  TensorView history_responses;  // float32 [..., H]
};

// One unroll of `unroll_length` (T) steps of `num_users` (E) simulated users, all taken under
// snapshot `policy_version`. R = 1 + C rows per observation (the user, then C candidates) of
// F features; K items per slate. The views point at bytes that `owner` keeps alive: the
// actor's unroll buffers when sending, the received ZeroMQ frames after decoding.
struct Trajectory {
  uint32_t actor_id = 0;
  uint64_t policy_version = 0;
  uint32_t unroll_length = 0;
  uint32_t num_users = 0;
  TensorView observations;             // float32 [T, E, R, F]
  TensorView slates;                   // int32   [T, E, K], values in [0, C)
  TensorView behaviour_log_probs;      // float32 [T, E]
  TensorView rewards;                  // float32 [T, E]
  TensorView dones;                    // uint8   [T, E]
  TensorView bootstrap_observation;    // float32 [E, R, F]
  std::vector<float> episode_returns;  // sessions that ended inside this unroll
  ContextViews context;                // [T, E, ...]
  ContextViews bootstrap_context;      // [E, ...]
  std::shared_ptr<const void> owner;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_TRAJECTORY_H_
