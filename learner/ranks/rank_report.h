#ifndef RLREC_LEARNER_RANKS_RANK_REPORT_H_
#define RLREC_LEARNER_RANKS_RANK_REPORT_H_

#include <functional>
#include <limits>
#include <string>

#include "learner/ranks/mpi_world.h"

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
  double future_versions = 0;  // trajectories of snapshots never published (BatchIntake)
  double lag_min = std::numeric_limits<double>::infinity(), lag_max = 0;
  double lag_sum = 0, lag_count = 0;
  double trajectories = 0, decode_errors = 0;  // this rank's totals so far

  // Adds the lag (in snapshots) of one trajectory taken into a batch.
  void AddLag(double lag);
};

// How the ranks' values of a field combine.
enum class Combine { kSum, kMin, kMax };

// Every numeric field of RankReport and how it combines: the order in which Agree packs them
// (after the stop reason, which takes the strongest).
struct RankReportField {
  const char* name;
  double RankReport::*member;
  Combine combine;
};
inline constexpr RankReportField kRankReportFields[] = {
    {"env_steps", &RankReport::env_steps, Combine::kSum},
    {"episodes", &RankReport::episodes, Combine::kSum},
    {"return_sum", &RankReport::return_sum, Combine::kSum},
    {"dropped_stale", &RankReport::dropped_stale, Combine::kSum},
    {"future_versions", &RankReport::future_versions, Combine::kSum},
    {"lag_min", &RankReport::lag_min, Combine::kMin},
    {"lag_max", &RankReport::lag_max, Combine::kMax},
    {"lag_sum", &RankReport::lag_sum, Combine::kSum},
    {"lag_count", &RankReport::lag_count, Combine::kSum},
    {"trajectories", &RankReport::trajectories, Combine::kSum},
    {"decode_errors", &RankReport::decode_errors, Combine::kSum},
};

// `a` and `b` combined field by field as kRankReportFields says, the stronger stop reason.
RankReport CombineReports(const RankReport& a, const RankReport& b);

// Every rank's report combined: the strongest stop reason, sums, and the extremes of the
// lags. Every rank calls it before each update (MpiWorld::CheckIn: rank 0 throws RanksLost
// naming the ranks that did not arrive within `timeout_s`), calling `idle`
// between polls (the lead serves its control socket there). A world of one returns `mine`.
RankReport Agree(const MpiWorld& world, const RankReport& mine, double timeout_s,
                 const std::function<void()>& idle);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_RANKS_RANK_REPORT_H_
