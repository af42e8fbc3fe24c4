#ifndef RLREC_ACTORS_SIM_SIMULATOR_CONFIG_H_
#define RLREC_ACTORS_SIM_SIMULATOR_CONFIG_H_

#include <cstdint>

#include "actors/sim/interest_evolution.h"
#include "common/config/config_keys.h"

namespace rlrec::actors {

// User ids of training and evaluation never meet: actor a trains on ids from
// TrainingUsers(a); evaluation draws from EvaluationUsers(seed), above 2^62.
uint64_t TrainingUsers(uint32_t actor_id);
uint64_t EvaluationUsers(uint64_t seed);

// The simulator settings of `config`, its users starting at id `first_user`, `num_users` of
// them at a time.
InterestEvolutionOptions SimulatorOptions(const common::RunConfig& config, uint64_t first_user,
                                          int num_users);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_SIMULATOR_CONFIG_H_
