#ifndef RLREC_LEARNER_BATCH_INTAKE_H_
#define RLREC_LEARNER_BATCH_INTAKE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "common/base/logging.h"
#include "common/config/config_keys.h"
#include "common/data/trajectory.h"
#include "learner/ranks/rank_report.h"

namespace rlrec::learner {

// How many snapshots `policy_version` is behind `version` (0 when it is not behind; BatchIntake
// admits no trajectory that is ahead).
uint64_t PolicyLag(uint64_t version, uint64_t policy_version);

// What a learner rank accepts into its next batch.
//  - Every run: no trajectory of a snapshot that was never published. The lead sets its
//    version before it publishes it, so a version above the lead's is forged (or an actor
//    still acts on a snapshot of the learner before a resume); another rank may learn of a
//    version one update after the lead published it (every update's all-reduce holds the
//    ranks within one version), so it admits `published_ahead` = 1 more. Such trajectories
//    are dropped, counted in RankReport::future_versions and logged (rate-limited), never
//    trained on: judged at lag 0 they would slip past learner.max_policy_lag.
//  - Asynchronous runs: every trajectory at most learner.max_policy_lag snapshots older than
//    the learner's current one (0: any age), in arrival order, learner.batch_trajectories per
//    batch. Older ones are too stale to correct for: dropped, and their steps do not count.
//  - Synchronous (lockstep) runs: one unroll from each of the actor.count actors, all taken
//    on the current snapshot, in actor-id order; anything else is dropped with a warning.
// Stale and out-of-turn trajectories count in RankReport::dropped_stale. Not thread-safe.
class BatchIntake {
 public:
  // `published_ahead`: how many versions past the rank's own the lead may have published (0
  // on the lead, 1 on the other ranks).
  explicit BatchIntake(const common::RunConfig& config, uint64_t published_ahead = 0);

  // Offers `trajectory` while the learner is at snapshot `version`. When accepted, its
  // environment steps and finished sessions are added to `report`; otherwise `report`'s
  // future_versions or dropped_stale. Returns whether it was accepted.
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
  const uint64_t published_ahead_;
  uint64_t future_versions_ = 0;  // dropped so far, for the log
  common::LogLimiter future_log_;
  std::vector<common::Trajectory> batch_;
  std::map<uint32_t, common::Trajectory> lockstep_;  // synchronous: this update's, by actor id
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_BATCH_INTAKE_H_
