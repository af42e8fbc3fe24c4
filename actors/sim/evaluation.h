#ifndef RLREC_ACTORS_SIM_EVALUATION_H_
#define RLREC_ACTORS_SIM_EVALUATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actors/sim/interest_evolution.h"
#include "actors/sim/slate_policy.h"

namespace rlrec::actors {

// Ranking quality of one slate against the true relevance of each candidate.
struct SlateScores {
  double precision = 0;  // relevant items in the slate / K
  double recall = 0;     // relevant items in the slate / relevant candidates; NaN if none
  double ndcg = 0;       // DCG of the slate's gains / DCG of the best K gains; NaN if all 0
  double diversity = 0;  // share of slate item pairs of different topics; NaN for K = 1
};

// Scores `slate` (k candidate indices) given each candidate's graded relevance `gains`
// (>= 0; relevant when > 0) and topic. Pure; the definitions above.
SlateScores ScoreSlate(const std::vector<double>& gains, const std::vector<int>& topics,
                       const int32_t* slate, int k);

// What evaluating a policy on held-out users measured. Session figures average over
// sessions, slate figures over slates (those where the figure is defined).
struct EvalReport {
  std::string policy;
  int users = 0;
  double mean_return = 0, return_ci95 = 0;             // mean and 95% confidence half-width
  double mean_length = 0;                              // steps per session
  double click_through = 0;                            // clicks per slate shown
  double watch_time = 0;                               // per session
  double precision = 0, recall = 0, f1 = 0, ndcg = 0;  // @K
  double coverage = 0;   // distinct items (fixed corpus) or topics recommended / all
  double diversity = 0;  // intra-slate topic diversity
};

// Runs `users` held-out sessions (ids from EvaluationUsers(seed), `batch` at a time, each
// session to its end) with `policy` on simulators configured by `options` (its
// num_users and first_user are overridden) and measures them. Relevance of a candidate:
// the user's true interest in its topic, when positive.
EvalReport Evaluate(const InterestEvolutionOptions& options, SlatePolicy& policy, int k, int users,
                    uint64_t seed, const std::string& policy_name, int batch = 256);

// The report as an aligned text table, and as one JSON object.
std::string FormatReport(const EvalReport& report);
std::string ReportJson(const EvalReport& report);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_EVALUATION_H_
