#include "learner/batch.h"

#include "common/snapshot.h"

namespace rlrec::learner {

Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device) {
  std::vector<torch::Tensor> obs, slates, logp, rewards, dones, boot;
  for (const auto& t : trajectories) {
    obs.push_back(common::TensorFromView(t.observations, t.owner));
    slates.push_back(common::TensorFromView(t.slates, t.owner));
    logp.push_back(common::TensorFromView(t.behaviour_log_probs, t.owner));
    rewards.push_back(common::TensorFromView(t.rewards, t.owner));
    dones.push_back(common::TensorFromView(t.dones, t.owner));
    boot.push_back(common::TensorFromView(t.bootstrap_observation, t.owner));
  }
  auto context = [&](bool bootstrap) {
    std::vector<torch::Tensor> items, history, topics, responses;
    for (const auto& t : trajectories) {
      const common::ContextViews& c = bootstrap ? t.bootstrap_context : t.context;
      items.push_back(common::TensorFromView(c.candidate_items, t.owner));
      history.push_back(common::TensorFromView(c.history_items, t.owner));
      topics.push_back(common::TensorFromView(c.history_topics, t.owner));
      responses.push_back(common::TensorFromView(c.history_responses, t.owner));
    }
    const int64_t dim = bootstrap ? 0 : 1;
    return Batch::Context{torch::cat(items, dim).to(device), torch::cat(history, dim).to(device),
                          torch::cat(topics, dim).to(device, torch::kInt64),
                          torch::cat(responses, dim).to(device)};
  };
  Batch b;
  b.context = context(false);
  b.bootstrap_context = context(true);
  b.observations = torch::cat(obs, 1).to(device);
  b.slates = torch::cat(slates, 1).to(device, torch::kInt64);
  b.behaviour_log_probs = torch::cat(logp, 1).to(device);
  b.rewards = torch::cat(rewards, 1).to(device);
  b.dones = torch::cat(dones, 1).to(device, torch::kFloat32);
  b.bootstrap_observation = torch::cat(boot, 0).to(device);
  return b;
}

common::PolicyInput AllStates(const Batch& batch) {
  const int64_t T = batch.observations.size(0), N = batch.observations.size(1);
  // [T, N, ...] steps, then the [N, ...] bootstrap states, as [T * N + N, ...].
  auto join = [&](const torch::Tensor& steps, const torch::Tensor& bootstrap) {
    std::vector<int64_t> shape{T * N};
    for (int64_t d = 2; d < steps.dim(); ++d) shape.push_back(steps.size(d));
    return torch::cat({steps.reshape(shape), bootstrap}, 0);
  };
  const Batch::Context &c = batch.context, &b = batch.bootstrap_context;
  return {join(batch.observations, batch.bootstrap_observation),
          join(c.candidate_items, b.candidate_items), join(c.history_items, b.history_items),
          join(c.history_topics, b.history_topics), join(c.history_responses, b.history_responses)};
}

}  // namespace rlrec::learner
