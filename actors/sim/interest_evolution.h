#ifndef RLREC_ACTORS_SIM_INTEREST_EVOLUTION_H_
#define RLREC_ACTORS_SIM_INTEREST_EVOLUTION_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/sim/user_simulator.h"
#include "actors/sim/zipf_corpus.h"
#include "common/config/choices.h"
#include "common/data/state_tensors.h"
#include "common/wire/world_ranges.h"

namespace rlrec::actors {

// Settings of InterestEvolutionSimulator. The defaults reproduce the user model of RecSim's
// interest-evolution environment (Ie et al. 2019, as used in the SlateQ paper); every
// extension is off.
struct InterestEvolutionOptions {
  int num_users = 32;       // E: sessions stepped together
  int num_candidates = 10;  // C: documents offered per step
  int num_topics = 20;      // T
  double time_budget = 200;
  // The user model's constants: common/wire/world_ranges.h declares them, and what the simulator
  // can produce with them.
  double step_penalty = common::kStepPenalty;
  double no_click_mass = common::kNoClickMass;
  double user_update = common::kUserUpdate;  // a: share of watch time given back per quality
  double document_length = common::kDocumentLength;
  bool observe_interests = false;  // the agent sees true interests instead of its history

  using Choice = common::ChoiceModel;  // sim.choice
  Choice choice = Choice::kProportional;
  double choice_temperature = 1.0;          // multinomial logit only
  double position_bias = 1.0;               // attractiveness x bias^position; 1: position-blind
  int corpus_size = 0;                      // 0: fresh documents each step; N: a fixed corpus
  double popularity_skew = 0;               // Zipf exponent of candidate draws from the corpus
  int item_lifetime = 0;                    // corpus: steps before an item is replaced; 0: never
  double cold_start_rate = 1.0;             // share of users who arrive without history
  int warm_history = common::kWarmHistory;  // past clicks of a user who is not cold
  double interest_drift = 0;                // per-step std of a random walk of every interest
  int history_length = 10;                  // H: impressions the agent sees of each user's past

  uint64_t seed = 1;
  uint64_t first_user = 0;  // slot s starts with user first_user + s, then + E per session
};

// The interest-evolution user model, vectorised over E users (structure of arrays, no heap
// allocation per step) with counter-based randomness keyed by (seed, user id, session step):
// a user's session is the same whatever E, the number of actors or threads. (With item
// turnover, which follows the batch's clock, a session also depends on when it starts.)
//
// Per step, each user is offered C distinct documents (topic uniform over T, one-hot features,
// quality ~ Normal(m[topic], 0.1), cut at 5 standard deviations, with m = linspace(-3, 0, 14)
// ++ linspace(0, 3, 6) for T = 20, a linear ramp otherwise). Choice (proportional): item i of the
// slate scores u[c_i] + 1, no click scores no_click_mass + 1; P(i) = s_i / (sum s + no-click). A
// click watches min(B, length), the reward; interest in the clicked topic moves by 0.3 (1 - |u|)(1
// - u) up with probability (u + 1) / 2, else down; B -= w - a w quality. No click: B -=
// step_penalty. The session ends when B <= 0 and the slot takes a new user.
//
// Observation rows have F = 2T + 2 features. User row: [0, T) the user's decayed clicks per
// topic (or the true interests with observe_interests), [T, 2T) decayed impressions per
// topic, [2T] session steps / 100 (at most kMaxObservedSessionSteps / 100), [2T + 1] 1. Candidate
// rows: one-hot topic, then at [2T] the item's log popularity weight (fixed corpus), [2T + 1] 1.
// Besides the rows, the agent sees candidate item ids (fixed corpus) and the user's last H
// impressions in this session, newest first: (item id, topic, watch time or 0). Not thread-safe.
class InterestEvolutionSimulator : public UserSimulator {
 public:
  explicit InterestEvolutionSimulator(const InterestEvolutionOptions& options);

  int num_users() const override { return options_.num_users; }
  int num_candidates() const override { return options_.num_candidates; }
  int feature_dim() const override { return common::ObservationFeatures(options_.num_topics); }
  int history_length() const override { return options_.history_length; }
  void Observe(const ObservationBuffers& out) const override;
  void Step(const int32_t* slates, int k, float* rewards, uint8_t* dones) override;

  // What the simulator knows and the agent does not, for oracles and evaluation.
  uint64_t user_id(int user) const override { return user_id_[user]; }
  int session_step(int user) const { return static_cast<int>(session_step_[user]); }
  double budget(int user) const { return budget_[user]; }
  float interest(int user, int topic) const {
    return interests_[size_t(user) * options_.num_topics + topic];
  }
  int candidate_topic(int user, int c) const {
    return candidate_topic_[size_t(user) * options_.num_candidates + c];
  }
  uint64_t candidate_item(int user, int c) const {
    return candidate_item_[size_t(user) * options_.num_candidates + c];
  }
  // The true quality of candidate c (drawn on demand, the same on every call).
  double CandidateQuality(int user, int c) const;
  // The choice model's unnormalised attractiveness of candidate c at slate `position`.
  double Attractiveness(int user, int c, int position) const;
  // Attractiveness of not clicking.
  double NoClickAttractiveness() const;
  // Slate position clicked at the last step, -1 for none (before the session reset).
  int last_click(int user) const { return last_click_[user]; }
  // Mean quality of a topic (m[topic]).
  double TopicQuality(int topic) const { return topic_quality_[topic]; }
  // Sampling weight of corpus item slot j (fixed corpus), summing to 1.
  double Popularity(uint64_t slot) const { return corpus_->Probability(slot); }
  // Heap bytes that grow with the corpus (bounded: see ZipfCorpus), for memory accounting.
  size_t CorpusHeapBytes() const;
  const InterestEvolutionOptions& options() const { return options_; }

 private:
  void StartSession(int user);
  // Appends one impression to `user`'s history.
  void Remember(int user, int64_t item, int32_t topic, float response);
  void DrawCandidates(int user);
  // The topic of corpus item `item`: a pure function of the seed and the item id.
  int32_t ItemTopic(uint64_t item) const;
  uint64_t Key(int user) const;

  const InterestEvolutionOptions options_;
  std::vector<double> topic_quality_;         // [T], fixed
  std::vector<double> position_weight_;       // [C] position_bias^position, fixed
  std::vector<double> slate_attractiveness_;  // [C] scratch of Step
  std::optional<ZipfCorpus> corpus_;          // popularity of a fixed corpus, fixed
  std::vector<int32_t> slot_topic_;           // [min(N, head)] topics of popular slots, fixed
  uint64_t clock_ = 0;                        // steps taken by the whole batch (item turnover)

  // Per user ([E], [E * T] or [E * C]).
  std::vector<uint64_t> user_id_;
  std::vector<uint64_t> session_step_;
  std::vector<double> budget_;
  std::vector<float> interests_;
  std::vector<float> clicks_;
  std::vector<float> impressions_;
  std::vector<int32_t> candidate_topic_;
  std::vector<uint64_t> candidate_item_;
  std::vector<int32_t> last_click_;
  std::vector<int64_t> history_item_;  // [E * H] ring buffers
  std::vector<int32_t> history_topic_;
  std::vector<float> history_response_;
  std::vector<int32_t> history_head_;   // [E] next write position
  std::vector<int32_t> history_count_;  // [E]

  // Scratch of DrawCandidates' duplicate check: an open-addressing set of item ids, cleared
  // by bumping the stamp. Sized at construction, so drawing allocates nothing.
  std::vector<uint64_t> seen_item_;
  std::vector<uint32_t> seen_stamp_;
  uint32_t stamp_ = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_INTEREST_EVOLUTION_H_
