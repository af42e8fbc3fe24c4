#include "learner/rank_report.h"

#include <algorithm>
#include <vector>

namespace rlrec::learner {

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kNone:
      return "none";
    case StopReason::kMaxEnvSteps:
      return "max_env_steps";
    case StopReason::kMaxUpdates:
      return "max_updates";
    case StopReason::kTimeBudget:
      return "time budget";
    case StopReason::kSignal:
      return "signal";
  }
  return "unknown";
}

RankReport Agree(const MpiWorld& world, const RankReport& mine, double timeout_s,
                 const std::function<void()>& idle) {
  if (world.size() == 1) return mine;
  constexpr size_t kFields = 11;
  const std::vector<double> row = {static_cast<double>(mine.stop),
                                   mine.env_steps,
                                   mine.episodes,
                                   mine.return_sum,
                                   mine.dropped_stale,
                                   mine.lag_min,
                                   mine.lag_max,
                                   mine.lag_sum,
                                   mine.lag_count,
                                   mine.trajectories,
                                   mine.decode_errors};
  static_assert(kFields == 11);
  const std::vector<double> all = world.AllGather(row, timeout_s, idle);
  RankReport out;
  out.stop = StopReason::kNone;
  for (int r = 0; r < world.size(); ++r) {
    const double* x = &all[r * kFields];
    out.stop = std::max(out.stop, static_cast<StopReason>(static_cast<int>(x[0])));
    out.env_steps += x[1];
    out.episodes += x[2];
    out.return_sum += x[3];
    out.dropped_stale += x[4];
    out.lag_min = std::min(out.lag_min, x[5]);
    out.lag_max = std::max(out.lag_max, x[6]);
    out.lag_sum += x[7];
    out.lag_count += x[8];
    out.trajectories += x[9];
    out.decode_errors += x[10];
  }
  return out;
}

}  // namespace rlrec::learner
