#ifndef RLREC_ACTORS_SIM_USER_SIMULATOR_H_
#define RLREC_ACTORS_SIM_USER_SIMULATOR_H_

#include <cstdint>

#include "common/data/state_tensors.h"

namespace rlrec::actors {

// Where Observe writes one observation of E users (common/data/state_tensors.h).
using common::ObservationBuffers;

// A batch of E simulated users, each in a session. Every step offers each user C candidate
// items; the agent answers with a slate of K of them; the user responds with a reward and
// maybe ends the session, after which a new session (a new user) starts in that slot.
// Observations (ObservationBuffers) hold feature rows [E, 1 + C, F] (row 0 describes the user
// as the agent may see them, rows 1..C the candidates), candidate item ids and the user's
// recent impressions with their responses. Free of LibTorch: buffers are plain arrays the caller
// owns. Not thread-safe.
class UserSimulator {
 public:
  virtual ~UserSimulator() = default;
  virtual int num_users() const = 0;       // E
  virtual int num_candidates() const = 0;  // C
  virtual int feature_dim() const = 0;     // F
  virtual int history_length() const = 0;  // H
  // The user in slot `slot` (0 <= slot < E) now: ids name users across sessions and actors
  // (actors/sim/simulator_config.h: TrainingUsers, EvaluationUsers).
  virtual uint64_t user_id(int slot) const = 0;

  // Writes the current observation of every user into `out`.
  virtual void Observe(const ObservationBuffers& out) const = 0;

  // Applies `slates` (E * k candidate indices in [0, C), slate order) and writes each user's
  // reward and done flag (1 when the session ended at this step). Sessions that ended are
  // replaced by new ones before the next Observe.
  virtual void Step(const int32_t* slates, int k, float* rewards, uint8_t* dones) = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_USER_SIMULATOR_H_
