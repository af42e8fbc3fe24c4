#ifndef RLREC_LEARNER_BATCH_INTAKE_H_
#define RLREC_LEARNER_BATCH_INTAKE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "common/config_keys.h"
#include "common/trajectory.h"
#include "learner/rank_report.h"

namespace rlrec::learner {

// How many snapshots `policy_version` is behind `version` (0 when it is not behind: a
// resumed learner can be behind its actors).
uint64_t PolicyLag(uint64_t version, uint64_t policy_version);

// What a learner rank accepts into its next batch.
//  - Asynchronous runs: every trajectory at most learner.max_policy_lag snapshots older than
//    the learner's current one (0: any age), in arrival order, learner.batch_trajectories per
//    batch. Older ones are too stale to correct for: dropped, and their steps do not count.
//  - Synchronous (lockstep) runs: one unroll from each of the actor.count actors, all taken
//    on the current snapshot, in actor-id order; anything else is dropped with a warning.
// Dropped trajectories count in RankReport::dropped_stale. Not thread-safe.
class BatchIntake {
 public:
  explicit BatchIntake(const common::RunConfig& config);

  // Offers `trajectory` while the learner is at snapshot `version`. When accepted, its
  // environment steps and finished sessions are added to `report`; otherwise `report`'s
  // dropped_stale. Returns whether it was accepted.
  bool Offer(common::Trajectory trajectory, uint64_t version, RankReport* report);

  // True when a whole batch is waiting.
  bool Ready() const { return batch_.size() >= batch_size_; }

  // The waiting batch, in order, leaving the intake empty; the lag of each trajectory behind
  // `version` goes into `report`. Call when Ready().
  std::vector<common::Trajectory> Take(uint64_t version, RankReport* report);

  size_t batch_size() const { return batch_size_; }

 private:
  const bool synchronous_;
  const size_t batch_size_;
  const uint64_t max_policy_lag_;  // 0: no limit
  std::vector<common::Trajectory> batch_;
  std::map<uint32_t, common::Trajectory> lockstep_;  // synchronous: this update's, by actor id
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_BATCH_INTAKE_H_
