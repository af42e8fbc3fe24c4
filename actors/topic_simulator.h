#ifndef RLREC_ACTORS_TOPIC_SIMULATOR_H_
#define RLREC_ACTORS_TOPIC_SIMULATOR_H_

#include <cstdint>
#include <vector>

#include "actors/user_simulator.h"

namespace rlrec::actors {

// Settings of TopicSimulator.
struct TopicSimulatorOptions {
  int num_users = 32;        // E
  int num_candidates = 10;   // C
  int num_topics = 20;       // T
  double time_budget = 200;  // session budget
  uint64_t seed = 1;
  uint64_t stream = 0;  // distinguishes actors: each (seed, stream) is its own population
};

// A first user model in the spirit of RecSim's interest evolution: each user has hidden
// interests in [-1, 1] per topic; candidates are fresh items with one topic and a quality;
// the user clicks slate item i with probability proportional to interest + 1 (a no-click
// option weighs 2), watches a clicked item for 4 units of time (the reward), and interest in
// the clicked topic moves. Each step costs time; good items give some back; the session ends
// when the time budget is spent. The agent sees the user's click history per topic and the
// budget left, never the interests. Feature width F = T + 2.
class TopicSimulator : public UserSimulator {
 public:
  explicit TopicSimulator(const TopicSimulatorOptions& options);

  int num_users() const override { return options_.num_users; }
  int num_candidates() const override { return options_.num_candidates; }
  int feature_dim() const override { return options_.num_topics + 2; }
  void Observe(float* out) const override;
  void Step(const int32_t* slates, int k, float* rewards, uint8_t* dones) override;

 private:
  // A small counter-free generator per user (SplitMix64): cheap, seedable, reproducible.
  struct Rng {
    uint64_t state;
    uint64_t Next();
    double Uniform();  // [0, 1)
    double Normal();
  };
  void StartSession(int user);
  void DrawCandidates(int user);

  TopicSimulatorOptions options_;     // fixed after construction
  std::vector<float> topic_quality_;  // [T] mean quality of each topic, fixed
  // Per-user state, indexed [user] or [user * T + topic] / [user * C + candidate].
  std::vector<Rng> rng_;
  std::vector<float> interests_;
  std::vector<float> history_;
  std::vector<double> budget_;
  std::vector<int32_t> candidate_topic_;
  std::vector<float> candidate_quality_;
  std::vector<double> slate_weights_;  // scratch, k + 1
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_TOPIC_SIMULATOR_H_
