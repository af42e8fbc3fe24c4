#ifndef RLREC_COMMON_WIRE_WORLD_RANGES_H_
#define RLREC_COMMON_WIRE_WORLD_RANGES_H_

#include <vector>

#include "common/config/config_keys.h"

namespace rlrec::common {

// The built-in world, the interest-evolution user simulator (actors/sim/interest_evolution.h),
// declared once: the constants of its user model, which the simulator takes from here, and
// from them the range of every value it can put into a trajectory under a run's config, which
// the learner holds actors to (TrajectoryContractOf, common/wire/trajectory_checks.h). A test steps
// the simulator under extreme settings and checks every value it writes against these ranges.

// The user model (RecSim's interest evolution, Ie et al. 2019).
inline constexpr double kDocumentLength = 4.0;    // a click watches min(budget, this): the reward
inline constexpr double kStepPenalty = 0.5;       // budget a step without a click costs
inline constexpr double kNoClickMass = 1.0;       // attractiveness of not clicking, less 1
inline constexpr double kUserUpdate = 0.9 / 3.4;  // watch time given back per unit of quality
inline constexpr double kMaxTopicQuality = 3.0;   // topic mean qualities lie in [-3, 3]
inline constexpr double kQualityStd = 0.1;        // a document's quality noise around its topic's
// The noise is cut at this many standard deviations (a cut that changes about one draw in two
// million): uncut, a document of quality above 1 / kUserUpdate gives back more budget than it
// costs, and a user who keeps clicking it never leaves.
inline constexpr double kQualityNoiseLimit = 5.0;
inline constexpr float kHistoryDecay = 0.9f;  // per step, of the user row's clicks and impressions
inline constexpr int kWarmHistory = 10;       // past clicks of a user who is not cold
// The user row shows min(session steps, this) / 100: a session may last without bound (a user
// who keeps clicking once the budget is below kDocumentLength spends a share of it per click).
inline constexpr double kMaxObservedSessionSteps = 1e6;

// The values a float of a trajectory may take: [low, high].
struct ValueRange {
  float low = 0, high = 0;
};

// What a world can put into a trajectory: the range of every float of it.
struct WorldRanges {
  ValueRange reward;                      // per step
  ValueRange episode_return;              // per session: the sum of its rewards
  ValueRange history_response;            // of each past impression
  std::vector<ValueRange> user_row;       // [F]: feature f of the user row (row 0)
  std::vector<ValueRange> candidate_row;  // [F]: feature f of a candidate row (rows 1..C)
};

// The ranges of the interest-evolution simulator under `config`, exact (before any slack):
//  - reward in [0, D], D = kDocumentLength;
//  - episode return in [0, B / (1 - a q) + D], B = sim.time_budget, a = kUserUpdate and
//    q = kMaxTopicQuality + kQualityStd * kQualityNoiseLimit the best quality: every click
//    but the last costs at least (1 - a q) of what it watched, and the budget is spent at the
//    end of the session (with sim.time_budget = 200: 2,724);
//  - user row: clicks per topic in [0, max(kWarmHistory, 1 / (1 - decay))] (interests in
//    [-1, 1] with sim.observe_interests), impressions per topic in [0, max(kWarmHistory,
//    K / (1 - decay))], session steps / 100 in [0, kMaxObservedSessionSteps / 100], then 1;
//  - candidate rows: a one-hot topic, zeros, the log popularity ln(p N) in
//    [-skew ln N - 1, ln N] with a fixed corpus of N (0 without), then 1;
//  - history responses in [0, D].
WorldRanges InterestEvolutionRanges(const RunConfig& config);

// `range` widened by the checks' slack: 1% of each bound's magnitude plus 0.001 on each side,
// room for rounding (a return is summed in double and sent as a float), never for an order of
// magnitude.
ValueRange WithSlack(ValueRange range);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_WORLD_RANGES_H_
