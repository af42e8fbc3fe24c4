#include "learner/ranks/rank_report.h"

#include <algorithm>
#include <iterator>
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

void RankReport::AddLag(double lag) {
  lag_min = std::min(lag_min, lag);
  lag_max = std::max(lag_max, lag);
  lag_sum += lag;
  ++lag_count;
}

RankReport CombineReports(const RankReport& a, const RankReport& b) {
  RankReport out;
  out.stop = std::max(a.stop, b.stop);
  for (const auto& field : kRankReportFields) {
    const double x = a.*field.member, y = b.*field.member;
    switch (field.combine) {
      case Combine::kSum:
        out.*field.member = x + y;
        break;
      case Combine::kMin:
        out.*field.member = std::min(x, y);
        break;
      case Combine::kMax:
        out.*field.member = std::max(x, y);
        break;
    }
  }
  return out;
}

RankReport Agree(const MpiWorld& world, const RankReport& mine, double timeout_s,
                 const std::function<void()>& idle) {
  if (world.size() == 1) return mine;
  constexpr size_t kFields = 1 + std::size(kRankReportFields);
  std::vector<double> row = {static_cast<double>(mine.stop)};
  for (const auto& field : kRankReportFields) row.push_back(mine.*field.member);
  const std::vector<double> all = world.CheckIn(row, timeout_s, idle);
  RankReport out;  // the identity of every combination
  for (int r = 0; r < world.size(); ++r) {
    const double* x = &all[r * kFields];
    RankReport rank;
    rank.stop = static_cast<StopReason>(static_cast<int>(x[0]));
    for (size_t i = 0; i < std::size(kRankReportFields); ++i) {
      rank.*kRankReportFields[i].member = x[1 + i];
    }
    out = CombineReports(out, rank);
  }
  return out;
}

}  // namespace rlrec::learner
