#include "learner/batch.h"

namespace rlrec::learner {
namespace {

// `parts` concatenated along `dim` on `device`: in one host tensor (page-locked when `pinned`,
// the copy to the device then not waiting for it), then copied there.
torch::Tensor CatOnto(const std::vector<torch::Tensor>& parts, int64_t dim, torch::Device device,
                      bool pinned) {
  if (!pinned) return torch::cat(parts, dim).to(device);
  std::vector<int64_t> shape = parts.at(0).sizes().vec();
  shape.at(dim) = 0;
  for (const auto& p : parts) shape[dim] += p.size(dim);
  auto host = torch::empty(shape, parts[0].options().pinned_memory(true));
  torch::cat_out(host, parts, dim);
  return host.to(device, /*non_blocking=*/true);
}

// The tensors that `part` picks from each trajectory, concatenated along `dim` on `device`.
torch::Tensor Stack(const std::vector<common::Trajectory>& trajectories, int64_t dim,
                    torch::Device device, bool pinned,
                    const std::function<common::TensorView(const common::Trajectory&)>& part) {
  std::vector<torch::Tensor> parts;
  parts.reserve(trajectories.size());
  for (const auto& t : trajectories) parts.push_back(common::TensorFromView(part(t), t.owner));
  return CatOnto(parts, dim, device, pinned);
}

// The state tensors of every trajectory's steps (dim 1) or bootstrap states (dim 0).
common::TorchStates StackStates(const std::vector<common::Trajectory>& trajectories, bool bootstrap,
                                torch::Device device, bool pinned) {
  std::vector<common::TorchStates> parts;
  parts.reserve(trajectories.size());
  for (const auto& t : trajectories) {
    parts.push_back(common::TensorsFromViews(bootstrap ? t.bootstrap : t.steps, t.owner));
  }
  common::TorchStates out;
  const auto out_tensors = common::TensorsOf(out);
  for (size_t i = 0; i < out_tensors.size(); ++i) {
    std::vector<torch::Tensor> field;
    field.reserve(parts.size());
    for (auto& p : parts) field.push_back(*common::TensorsOf(p)[i]);
    *out_tensors[i] = CatOnto(field, bootstrap ? 0 : 1, device, pinned);
  }
  return out;
}

}  // namespace

Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device,
                bool pinned) {
  torch::NoGradGuard no_grad;
  Batch b;
  b.steps = StackStates(trajectories, /*bootstrap=*/false, device, pinned);
  b.bootstrap = StackStates(trajectories, /*bootstrap=*/true, device, pinned);
  b.slates = Stack(trajectories, 1, device, pinned, [](const auto& t) {
               return t.slates;
             }).to(torch::kInt64);
  b.behaviour_log_probs =
      Stack(trajectories, 1, device, pinned, [](const auto& t) { return t.behaviour_log_probs; });
  b.rewards = Stack(trajectories, 1, device, pinned, [](const auto& t) { return t.rewards; });
  b.dones = Stack(trajectories, 1, device, pinned, [](const auto& t) {
              return t.dones;
            }).to(torch::kFloat32);
  return b;
}

std::vector<torch::Tensor*> TensorsOf(Batch& batch) {
  std::vector<torch::Tensor*> out;
  for (auto* x : common::TensorsOf(batch.steps)) out.push_back(x);
  for (auto* x : common::TensorsOf(batch.bootstrap)) out.push_back(x);
  for (auto* x : {&batch.slates, &batch.behaviour_log_probs, &batch.rewards, &batch.dones}) {
    out.push_back(x);
  }
  return out;
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
