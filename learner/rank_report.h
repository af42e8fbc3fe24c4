#ifndef RLREC_LEARNER_RANK_REPORT_H_
#define RLREC_LEARNER_RANK_REPORT_H_

#include <functional>
#include <limits>
#include <string>

#include "learner/mpi_world.h"

namespace rlrec::learner {

// Why a learner stops, in order of precedence when ranks disagree.
enum class StopReason { kNone = 0, kMaxEnvSteps, kMaxUpdates, kTimeBudget, kSignal };
const char* StopReasonName(StopReason reason);

// What one learner rank brings to an update: whether it wants to stop and what it received
// since the previous update. Agreeing on these before each update keeps every rank's
// counters, and so every stop decision, identical.
struct RankReport {
  StopReason stop = StopReason::kNone;
  double env_steps = 0, episodes = 0, return_sum = 0, dropped_stale = 0;
  double lag_min = std::numeric_limits<double>::infinity(), lag_max = 0;
  double lag_sum = 0, lag_count = 0;
  double trajectories = 0, decode_errors = 0;  // this rank's totals so far
};

// Every rank's report combined: the strongest stop reason, sums, and the extremes of the
// lags. Every rank calls it before each update; waits at most `timeout_s`, calling `idle`
// between polls (the lead serves its control socket there). A world of one returns `mine`.
RankReport Agree(const MpiWorld& world, const RankReport& mine, double timeout_s,
                 const std::function<void()>& idle);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_RANK_REPORT_H_
