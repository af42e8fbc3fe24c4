#include "learner/batch.h"

namespace rlrec::learner {
namespace {

// The tensors that `part` picks from each trajectory, concatenated along `dim` on `device`.
torch::Tensor Stack(const std::vector<common::Trajectory>& trajectories, int64_t dim,
                    torch::Device device,
                    const std::function<common::TensorView(const common::Trajectory&)>& part) {
  std::vector<torch::Tensor> parts;
  parts.reserve(trajectories.size());
  for (const auto& t : trajectories) parts.push_back(common::TensorFromView(part(t), t.owner));
  return torch::cat(parts, dim).to(device);
}

// The state tensors of every trajectory's steps (dim 1) or bootstrap states (dim 0).
common::TorchStates StackStates(const std::vector<common::Trajectory>& trajectories, bool bootstrap,
                                torch::Device device) {
  std::vector<common::TorchStates> parts;
  parts.reserve(trajectories.size());
  for (const auto& t : trajectories) {
    parts.push_back(common::TensorsFromViews(bootstrap ? t.bootstrap : t.steps, t.owner));
  }
  common::TorchStates out = common::CatStates(std::move(parts), bootstrap ? 0 : 1);
  for (torch::Tensor* x : common::TensorsOf(out)) *x = x->to(device);
  return out;
}

}  // namespace

Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device) {
  Batch b;
  b.steps = StackStates(trajectories, /*bootstrap=*/false, device);
  b.bootstrap = StackStates(trajectories, /*bootstrap=*/true, device);
  b.slates =
      Stack(trajectories, 1, device, [](const auto& t) { return t.slates; }).to(torch::kInt64);
  b.behaviour_log_probs =
      Stack(trajectories, 1, device, [](const auto& t) { return t.behaviour_log_probs; });
  b.rewards = Stack(trajectories, 1, device, [](const auto& t) { return t.rewards; });
  b.dones =
      Stack(trajectories, 1, device, [](const auto& t) { return t.dones; }).to(torch::kFloat32);
  return b;
}

common::PolicyInput AllStates(const Batch& batch) {
  const int64_t T = batch.unroll(), N = batch.users();
  // [T, N, ...] steps, then the [N, ...] bootstrap states, as [T * N + N, ...].
  common::PolicyInput all;
  common::ForEachStateTensor(
      all, batch.steps,
      [&](const common::StateTensorSpec&, torch::Tensor& out, const torch::Tensor& steps) {
        std::vector<int64_t> shape{T * N};
        for (int64_t d = 2; d < steps.dim(); ++d) shape.push_back(steps.size(d));
        out = steps.reshape(shape);
      });
  common::ForEachStateTensor(
      all, batch.bootstrap,
      [](const common::StateTensorSpec&, torch::Tensor& out, const torch::Tensor& bootstrap) {
        out = torch::cat({out, bootstrap}, 0);
      });
  return all;
}

}  // namespace rlrec::learner
