#include "common/wire/world_ranges.h"

#include <algorithm>
#include <cmath>

#include "common/data/state_tensors.h"

namespace rlrec::common {
namespace {

constexpr double kRelativeSlack = 0.01, kAbsoluteSlack = 1e-3;

ValueRange Between(double low, double high) {
  return {static_cast<float>(low), static_cast<float>(high)};
}

}  // namespace

WorldRanges InterestEvolutionRanges(const RunConfig& config) {
  const auto& sim = config.sim;
  const auto T = static_cast<size_t>(sim.topics);
  const auto F = static_cast<size_t>(ObservationFeatures(sim.topics));
  const double D = kDocumentLength;
  const double best_quality = kMaxTopicQuality + kQualityStd * kQualityNoiseLimit;
  const double kept = 1.0 - kUserUpdate * best_quality;       // > 0: every click costs budget
  const double steady = 1.0 / (1.0 - double{kHistoryDecay});  // a sum decayed each step
  WorldRanges r;
  r.reward = Between(0, D);
  r.episode_return = Between(0, sim.time_budget / kept + D);
  r.history_response = Between(0, D);
  r.user_row.assign(F, Between(0, 0));
  r.candidate_row.assign(F, Between(0, 0));
  for (size_t t = 0; t < T; ++t) {
    r.user_row[t] =
        sim.observe_interests ? Between(-1, 1) : Between(0, std::max<double>(kWarmHistory, steady));
    r.user_row[T + t] = Between(0, std::max<double>(kWarmHistory, sim.slate_size * steady));
    r.candidate_row[t] = Between(0, 1);
  }
  r.user_row[2 * T] = Between(0, kMaxObservedSessionSteps / 100);
  r.user_row[2 * T + 1] = Between(1, 1);
  if (sim.corpus_size > 0) {
    // p = (j + 1)^-skew / Z with 1 <= Z <= N: ln(p N) lies in [-skew ln N - ln(1 + 1/N), ln N].
    const double log_n = std::log(double(sim.corpus_size));
    r.candidate_row[2 * T] = Between(-sim.popularity_skew * log_n - 1, log_n);
  }
  r.candidate_row[2 * T + 1] = Between(1, 1);
  return r;
}

ValueRange WithSlack(ValueRange range) {
  const auto widen = [](float bound) {
    return static_cast<float>(kRelativeSlack * std::fabs(double{bound}) + kAbsoluteSlack);
  };
  return {range.low - widen(range.low), range.high + widen(range.high)};
}

}  // namespace rlrec::common
