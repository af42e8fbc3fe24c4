#include "actors/unroll_buffers.h"

namespace rlrec::actors {

UnrollBuffers::UnrollBuffers(int64_t T, int64_t E, int64_t C, int64_t F, int64_t K, int64_t H)
    : slates(torch::empty({T, E, K}, torch::kInt32)),
      log_probs(torch::empty({T, E})),
      rewards(torch::empty({T, E})),
      dones(torch::empty({T, E}, torch::kUInt8)),
      steps_(common::EmptyStates({T, E}, C, F, H)),
      bootstrap_(common::EmptyStates({E}, C, F, H)) {}

common::ObservationBuffers UnrollBuffers::StepState(int64_t t) {
  return common::PointersOf(common::Select(steps_, t));
}

common::ObservationBuffers UnrollBuffers::BootstrapState() {
  return common::PointersOf(bootstrap_);
}

common::TorchStates UnrollBuffers::StepInput(int64_t t) const { return common::Select(steps_, t); }

common::Trajectory UnrollBuffers::ToTrajectory(std::shared_ptr<const UnrollBuffers> buffers,
                                               uint32_t actor_id, uint64_t version,
                                               std::vector<float> episode_returns) {
  common::Trajectory t;
  t.actor_id = actor_id;
  t.policy_version = version;
  t.unroll_length = static_cast<uint32_t>(buffers->rewards.size(0));
  t.num_users = static_cast<uint32_t>(buffers->rewards.size(1));
  t.steps = common::ViewsOfTensors(buffers->steps_);
  t.slates = common::ViewOfTensor(buffers->slates);
  t.behaviour_log_probs = common::ViewOfTensor(buffers->log_probs);
  t.rewards = common::ViewOfTensor(buffers->rewards);
  t.dones = common::ViewOfTensor(buffers->dones);
  t.bootstrap = common::ViewsOfTensors(buffers->bootstrap_);
  t.episode_returns = std::move(episode_returns);
  t.owner = std::move(buffers);
  return t;
}

}  // namespace rlrec::actors
