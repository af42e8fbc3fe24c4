#include "actors/sim/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>

#include "actors/sim/simulator_config.h"
#include "common/base/json.h"

namespace rlrec::actors {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Running mean of the defined (non-NaN) values.
struct Mean {
  double sum = 0;
  uint64_t n = 0;
  void Add(double x) {
    if (!std::isnan(x)) {
      sum += x;
      ++n;
    }
  }
  double value() const { return n ? sum / n : kNaN; }
};

}  // namespace

SlateScores ScoreSlate(const std::vector<double>& gains, const std::vector<int>& topics,
                       const int32_t* slate, int k) {
  SlateScores s;
  int relevant_total = 0;
  for (double g : gains) relevant_total += g > 0;
  int relevant_in_slate = 0;
  double dcg = 0;
  for (int i = 0; i < k; ++i) {
    const double g = gains[slate[i]];
    relevant_in_slate += g > 0;
    dcg += g / std::log2(i + 2.0);
  }
  std::vector<double> best(gains);
  std::sort(best.begin(), best.end(), std::greater<double>());
  double ideal = 0;
  for (int i = 0; i < k && i < static_cast<int>(best.size()); ++i)
    ideal += best[i] / std::log2(i + 2.0);
  s.precision = double(relevant_in_slate) / k;
  s.recall = relevant_total ? double(relevant_in_slate) / relevant_total : kNaN;
  s.ndcg = ideal > 0 ? dcg / ideal : kNaN;
  if (k < 2) {
    s.diversity = kNaN;
  } else {
    int different = 0;
    for (int i = 0; i < k; ++i) {
      for (int j = i + 1; j < k; ++j) different += topics[slate[i]] != topics[slate[j]];
    }
    s.diversity = different / (k * (k - 1) / 2.0);
  }
  return s;
}

EvalReport Evaluate(const InterestEvolutionOptions& options, SlatePolicy& policy, int k, int users,
                    uint64_t seed, const std::string& policy_name, int batch) {
  EvalReport report;
  report.policy = policy_name;
  report.users = users;
  std::vector<double> returns;
  Mean length, watch, precision, recall, f1, ndcg, diversity;
  uint64_t slates_shown = 0, clicks = 0;
  std::set<uint64_t> items_recommended;
  std::set<int> topics_recommended;
  const int C = options.num_candidates, T = options.num_topics;
  std::vector<double> gains(C);
  std::vector<int> topics(C);
  for (int start = 0; start < users; start += batch) {
    InterestEvolutionOptions o = options;
    o.num_users = std::min(batch, users - start);
    // The recorded sessions are those of users base .. base + users - 1, whatever the batch
    // size; a slot's later sessions (id + E) are not recorded.
    o.first_user = EvaluationUsers(seed) + static_cast<uint64_t>(start);
    InterestEvolutionSimulator sim(o);
    const int E = o.num_users, F = sim.feature_dim();
    const bool observe = policy.needs_observations();
    const int H = sim.history_length();
    common::ObservationArrays arrays =
        observe ? common::MakeObservationArrays(E, C, F, H) : common::ObservationArrays();
    const ObservationBuffers observation = common::PointersOf(arrays);
    std::vector<int32_t> slates(size_t(E) * k);
    std::vector<float> rewards(E);
    std::vector<uint8_t> dones(E);
    std::vector<char> active(E, 1);
    std::vector<double> session_return(E, 0), session_length(E, 0);
    int remaining = E;
    while (remaining > 0) {
      if (observe) sim.Observe(observation);
      policy.Choose(sim, observation, k, slates.data());
      for (int u = 0; u < E; ++u) {
        if (!active[u]) continue;
        for (int c = 0; c < C; ++c) {
          topics[c] = sim.candidate_topic(u, c);
          gains[c] = std::max(0.0, double(sim.interest(u, topics[c])));
        }
        const int32_t* slate = &slates[size_t(u) * k];
        SlateScores s = ScoreSlate(gains, topics, slate, k);
        precision.Add(s.precision);
        recall.Add(s.recall);
        if (!std::isnan(s.recall)) {
          f1.Add(s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall)
                                            : 0.0);
        }
        ndcg.Add(s.ndcg);
        diversity.Add(s.diversity);
        for (int i = 0; i < k; ++i) {
          if (options.corpus_size > 0) items_recommended.insert(sim.candidate_item(u, slate[i]));
          topics_recommended.insert(topics[slate[i]]);
        }
      }
      sim.Step(slates.data(), k, rewards.data(), dones.data());
      for (int u = 0; u < E; ++u) {
        if (!active[u]) continue;
        ++slates_shown;
        clicks += sim.last_click(u) >= 0;
        session_return[u] += rewards[u];
        session_length[u] += 1;
        if (dones[u]) {
          active[u] = 0;
          --remaining;
          returns.push_back(session_return[u]);
          length.Add(session_length[u]);
          watch.Add(session_return[u]);  // the reward is the watch time
        }
      }
    }
  }
  double sum = 0, sq = 0;
  for (double r : returns) sum += r;
  report.mean_return = sum / returns.size();
  for (double r : returns) sq += (r - report.mean_return) * (r - report.mean_return);
  const double sd = returns.size() > 1 ? std::sqrt(sq / (returns.size() - 1)) : 0;
  report.return_ci95 = 1.96 * sd / std::sqrt(double(returns.size()));
  report.mean_length = length.value();
  report.click_through = double(clicks) / slates_shown;
  report.watch_time = watch.value();
  report.precision = precision.value();
  report.recall = recall.value();
  report.f1 = f1.value();
  report.ndcg = ndcg.value();
  report.diversity = diversity.value();
  report.coverage = options.corpus_size > 0 ? double(items_recommended.size()) / options.corpus_size
                                            : double(topics_recommended.size()) / T;
  return report;
}

std::string FormatReport(const EvalReport& r) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "policy %s, %d held-out users\n"
                "  mean return        %10.3f  +/- %.3f (95%% CI)\n"
                "  session length     %10.2f steps\n"
                "  click-through      %10.4f clicks per slate\n"
                "  watch time         %10.3f per session\n"
                "  precision@K        %10.4f\n"
                "  recall@K           %10.4f\n"
                "  F1@K               %10.4f\n"
                "  NDCG@K             %10.4f\n"
                "  coverage           %10.4f\n"
                "  slate diversity    %10.4f\n",
                r.policy.c_str(), r.users, r.mean_return, r.return_ci95, r.mean_length,
                r.click_through, r.watch_time, r.precision, r.recall, r.f1, r.ndcg, r.coverage,
                r.diversity);
  return buf;
}

std::string ReportJson(const EvalReport& r) {
  common::JsonObject o;
  o.Add("policy", r.policy)
      .Add("users", r.users)
      .Add("mean_return", r.mean_return)
      .Add("return_ci95", r.return_ci95)
      .Add("session_length", r.mean_length)
      .Add("click_through", r.click_through)
      .Add("watch_time", r.watch_time)
      .Add("precision_at_k", r.precision)
      .Add("recall_at_k", r.recall)
      .Add("f1_at_k", r.f1)
      .Add("ndcg_at_k", r.ndcg)
      .Add("coverage", r.coverage)
      .Add("diversity", r.diversity);
  return o.str();
}

}  // namespace rlrec::actors
