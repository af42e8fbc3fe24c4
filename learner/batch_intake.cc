#include "learner/batch_intake.h"

#include <algorithm>

#include "common/base/logging.h"

namespace rlrec::learner {
uint64_t PolicyLag(uint64_t version, uint64_t policy_version) {
  return version - std::min(policy_version, version);
}

BatchIntake::BatchIntake(const common::RunConfig& config, uint64_t published_ahead)
    : synchronous_(config.learner.synchronous),
      batch_size_(static_cast<size_t>(synchronous_ ? config.actor.count
                                                   : config.learner.batch_trajectories)),
      max_policy_lag_(static_cast<uint64_t>(config.learner.max_policy_lag)),
      published_ahead_(published_ahead) {}

bool BatchIntake::Offer(common::Trajectory trajectory, uint64_t version, RankReport* report) {
  // Written so that no sum overflows: version + published_ahead_ may not fit.
  if (trajectory.policy_version > version &&
      trajectory.policy_version - version > published_ahead_) {
    ++report->future_versions;
    ++future_versions_;
    if (future_log_.Allow()) {
      const uint64_t held_back = future_log_.TakeSuppressed();
      RLREC_LOG(Warning) << "dropped a trajectory of actor " << trajectory.actor_id
                         << " claiming snapshot " << trajectory.policy_version
                         << ", never published (this rank is at " << version << "): forged, or "
                         << "acting on a snapshot of before a resume (" << future_versions_
                         << " so far"
                         << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                         << ")";
    }
    return false;
  }
  const uint64_t lag = PolicyLag(version, trajectory.policy_version);
  if (max_policy_lag_ > 0 && lag > max_policy_lag_) {
    ++report->dropped_stale;
    return false;
  }
  if (synchronous_ &&
      (lag != 0 || trajectory.actor_id >= batch_size_ || lockstep_.count(trajectory.actor_id))) {
    // Not this step's unroll of an expected actor: lockstep cannot use it.
    RLREC_LOG(Warning) << "synchronous: dropped an unroll of actor " << trajectory.actor_id
                       << " on snapshot " << trajectory.policy_version << " (now " << version
                       << ", " << batch_size_ << " actors)";
    ++report->dropped_stale;
    return false;
  }
  report->env_steps += double(trajectory.unroll_length) * trajectory.num_users;
  for (float r : trajectory.episode_returns) report->return_sum += r;
  report->episodes += trajectory.episode_returns.size();
  if (!synchronous_) {
    batch_.push_back(std::move(trajectory));
    return true;
  }
  const uint32_t id = trajectory.actor_id;
  lockstep_.emplace(id, std::move(trajectory));
  if (lockstep_.size() == batch_size_) {
    for (auto& [actor, t] : lockstep_) batch_.push_back(std::move(t));  // in actor-id order
    lockstep_.clear();
  }
  return true;
}

std::vector<common::Trajectory> BatchIntake::Take(uint64_t version, RankReport* report) {
  for (const auto& t : batch_) report->AddLag(double(PolicyLag(version, t.policy_version)));
  std::vector<common::Trajectory> out;
  out.swap(batch_);
  return out;
}

}  // namespace rlrec::learner
