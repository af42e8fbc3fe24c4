#include "actors/sim/baselines.h"

#include <algorithm>

#include "actors/sim/counter_rng.h"
#include "common/base/error.h"

namespace rlrec::actors {

void RandomPolicy::Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers&, int k,
                          int32_t* slates) {
  const int C = sim.num_candidates();
  order_.resize(C);
  for (int u = 0; u < sim.num_users(); ++u) {
    for (int c = 0; c < C; ++c) order_[c] = c;
    const uint64_t key = StepKey(seed_, sim.user_id(u), sim.session_step(u));
    for (int i = 0; i < k; ++i) {
      const int j = i + static_cast<int>(Below(key, Draw::kSlate, i, C - i));
      std::swap(order_[i], order_[j]);
      slates[size_t(u) * k + i] = order_[i];
    }
  }
}

void TopScorePolicy::Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers&, int k,
                            int32_t* slates) {
  const int C = sim.num_candidates();
  const int N = std::max(1, sim.options().corpus_size);
  ranked_.resize(C);
  for (int u = 0; u < sim.num_users(); ++u) {
    for (int c = 0; c < C; ++c) {
      double score = 0;
      switch (score_) {
        case Score::kPopularity:
          score = sim.Popularity(sim.candidate_item(u, c) % N);
          break;
        case Score::kAttractiveness:
          score = sim.Attractiveness(u, c, /*position=*/0);
          break;
        case Score::kQuality:
          score = sim.CandidateQuality(u, c);
          break;
      }
      // Ties go to the lower index, so the choice is deterministic.
      ranked_[c] = {-score, c};
    }
    std::partial_sort(ranked_.begin(), ranked_.begin() + k, ranked_.end());
    for (int i = 0; i < k; ++i) slates[size_t(u) * k + i] = ranked_[i].second;
  }
}

std::unique_ptr<SlatePolicy> MakeBaseline(const std::string& name,
                                          const InterestEvolutionOptions& options, uint64_t seed) {
  if (name == "random") return std::make_unique<RandomPolicy>(seed);
  if (name == "popular") {
    if (options.corpus_size == 0) {
      throw common::InvalidInput(
          "policy 'popular' needs a fixed corpus: set sim.corpus_size > 0 (with fresh "
          "documents every step, no item is more popular than another)");
    }
    return std::make_unique<TopScorePolicy>(TopScorePolicy::Score::kPopularity);
  }
  if (name == "oracle-myopic") {
    return std::make_unique<TopScorePolicy>(TopScorePolicy::Score::kAttractiveness);
  }
  if (name == "oracle-quality") {
    return std::make_unique<TopScorePolicy>(TopScorePolicy::Score::kQuality);
  }
  return nullptr;
}

}  // namespace rlrec::actors
