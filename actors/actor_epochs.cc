#include "actors/actor_epochs.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "actors/sim/interest_evolution.h"
#include "actors/sim/simulator_config.h"

namespace rlrec::actors {

ActorEpochs::ActorEpochs(const common::RunConfig& config, uint32_t actor_id, uint64_t first_version)
    : config_(config),
      actor_id_(actor_id),
      versions_per_epoch_(
          config.learner.synchronous ? std::max<uint64_t>(1, config.run.checkpoint_every) : 0) {
  Enter(versions_per_epoch_ ? first_version / versions_per_epoch_ : 0);
}

bool ActorEpochs::Advance(uint64_t version) {
  if (versions_per_epoch_ == 0 || version % versions_per_epoch_ != 0 ||
      version / versions_per_epoch_ == epoch_) {
    return false;
  }
  Enter(version / versions_per_epoch_);
  return true;
}

void ActorEpochs::Enter(uint64_t epoch) {
  epoch_ = epoch;
  simulator_ = std::make_unique<InterestEvolutionSimulator>(SimulatorOptions(
      config_, TrainingUsers(actor_id_) + ((epoch % 4096) << 28), config_.sim.users_per_actor));
  generator_ = at::make_generator<at::CPUGeneratorImpl>(config_.run.seed * 1000003 + actor_id_ +
                                                        epoch * 0x9E3779B97F4A7C15ull);
}

}  // namespace rlrec::actors
