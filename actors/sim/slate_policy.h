#ifndef RLREC_ACTORS_SIM_SLATE_POLICY_H_
#define RLREC_ACTORS_SIM_SLATE_POLICY_H_

#include <cstdint>

#include "actors/sim/interest_evolution.h"

namespace rlrec::actors {

// Chooses a slate for every user of a simulator: what evaluation compares, from baselines
// that may look inside the simulator (oracles) to a trained policy that sees only the
// observation. Not thread-safe.
class SlatePolicy {
 public:
  virtual ~SlatePolicy() = default;
  // Whether Choose reads the observation (so the caller fills it only when needed).
  virtual bool needs_observations() const = 0;
  // Writes `k` distinct candidate indices per user into `slates` ([E, k]). `observation`
  // holds the simulator's current observation (features and ids) when needs_observations();
  // its pointers may be null otherwise.
  virtual void Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers& observation,
                      int k, int32_t* slates) = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_SLATE_POLICY_H_
