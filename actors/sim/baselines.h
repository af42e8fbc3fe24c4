#ifndef RLREC_ACTORS_SIM_BASELINES_H_
#define RLREC_ACTORS_SIM_BASELINES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/sim/slate_policy.h"

namespace rlrec::actors {

// K candidates uniformly at random, without replacement (counter-based: reproducible).
class RandomPolicy : public SlatePolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : seed_(seed) {}
  bool needs_observations() const override { return false; }
  void Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers&, int k,
              int32_t* slates) override;

 private:
  uint64_t seed_;
  std::vector<int32_t> order_;  // scratch
};

// Ranks candidates by a score the simulator knows and takes the top K in order.
class TopScorePolicy : public SlatePolicy {
 public:
  enum class Score {
    kPopularity,      // most-popular: the corpus item's popularity (fixed corpus only)
    kAttractiveness,  // oracle-myopic: the choice model's attractiveness for this user
    kQuality,         // oracle-quality: the item's true quality
  };
  explicit TopScorePolicy(Score score) : score_(score) {}
  bool needs_observations() const override { return false; }
  void Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers&, int k,
              int32_t* slates) override;

 private:
  Score score_;
  std::vector<std::pair<double, int32_t>> ranked_;  // scratch
};

// The baseline named `name` ("random", "popular", "oracle-myopic", "oracle-quality"), or
// nullptr for any other name. Throws Error(kInvalidInput) for "popular" without a corpus.
std::unique_ptr<SlatePolicy> MakeBaseline(const std::string& name,
                                          const InterestEvolutionOptions& options, uint64_t seed);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_BASELINES_H_
