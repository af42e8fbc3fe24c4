#include "actors/sim/simulator_config.h"

namespace rlrec::actors {

uint64_t TrainingUsers(uint32_t actor_id) { return uint64_t{actor_id} << 40; }

uint64_t EvaluationUsers(uint64_t seed) { return (uint64_t{1} << 62) + ((seed & 0xfffff) << 40); }

InterestEvolutionOptions SimulatorOptions(const common::RunConfig& config, uint64_t first_user,
                                          int num_users) {
  const auto& sim = config.sim;
  InterestEvolutionOptions o;
  o.num_users = num_users;
  o.num_candidates = sim.candidates;
  o.num_topics = sim.topics;
  o.time_budget = sim.time_budget;
  o.observe_interests = sim.observe_interests;
  o.choice = sim.choice;
  o.choice_temperature = sim.choice_temperature;
  o.position_bias = sim.position_bias;
  o.corpus_size = sim.corpus_size;
  o.popularity_skew = sim.popularity_skew;
  o.item_lifetime = sim.item_lifetime;
  o.cold_start_rate = sim.cold_start_rate;
  o.interest_drift = sim.interest_drift;
  o.history_length = sim.history_length;
  o.seed = config.run.seed;
  o.first_user = first_user;
  return o;
}

}  // namespace rlrec::actors
