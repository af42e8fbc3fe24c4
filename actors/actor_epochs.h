#ifndef RLREC_ACTORS_ACTOR_EPOCHS_H_
#define RLREC_ACTORS_ACTOR_EPOCHS_H_

#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>

#include "actors/sim/user_simulator.h"
#include "common/config/config_keys.h"

namespace rlrec::actors {

// What an actor carries from one unroll to the next, its users and its random stream, and
// when they start afresh. In epoch e, actor a simulates users from an id range of its own
// and samples slates from a random stream of its own, both functions of (run.seed, a, e)
// alone. Asynchronous runs stay in one epoch. Synchronous runs enter epoch v / c at every
// snapshot version v that is a multiple of c = run.checkpoint_every (there, version =
// update): a run resumed from such a checkpoint, with fresh actors, continues exactly as
// the uninterrupted run did. Not thread-safe.
class ActorEpochs {
 public:
  // Starts in the epoch of the first snapshot the actor acts on, `first_version`.
  ActorEpochs(const common::RunConfig& config, uint32_t actor_id, uint64_t first_version);

  // Enters the epoch that snapshot `version` starts, if it starts one; returns whether it did
  // (the sessions of the previous epoch's users then end unfinished).
  bool Advance(uint64_t version);

  uint64_t epoch() const { return epoch_; }
  UserSimulator& simulator() { return *simulator_; }
  at::Generator& generator() { return generator_; }

 private:
  void Enter(uint64_t epoch);

  const common::RunConfig config_;
  const uint32_t actor_id_;
  const uint64_t versions_per_epoch_;  // 0: one epoch for the whole run
  uint64_t epoch_ = 0;
  std::unique_ptr<UserSimulator> simulator_;
  at::Generator generator_;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_ACTOR_EPOCHS_H_
