#include "learner/train/batch.h"

#include <cstring>
#include <unordered_map>

namespace rlrec::learner {
namespace {

// `parts` concatenated along `dim` in one host tensor, page-locked when `pinned`.
torch::Tensor CatOnHost(const std::vector<torch::Tensor>& parts, int64_t dim, bool pinned) {
  if (!pinned) return torch::cat(parts, dim);
  std::vector<int64_t> shape = parts.at(0).sizes().vec();
  shape.at(dim) = 0;
  for (const auto& p : parts) shape[dim] += p.size(dim);
  auto host = torch::empty(shape, parts[0].options().pinned_memory(true));
  torch::cat_out(host, parts, dim);
  return host;
}

// The tensors that `part` picks from each trajectory, concatenated along `dim` on the host.
torch::Tensor Stack(const std::vector<common::Trajectory>& trajectories, int64_t dim, bool pinned,
                    const std::function<common::TensorView(const common::Trajectory&)>& part) {
  std::vector<torch::Tensor> parts;
  parts.reserve(trajectories.size());
  for (const auto& t : trajectories) parts.push_back(common::TensorFromView(part(t), t.owner));
  return CatOnHost(parts, dim, pinned);
}

// The state tensors of every trajectory's steps (dim 1) or bootstrap states (dim 0), on the
// host.
common::TorchStates StackStates(const std::vector<common::Trajectory>& trajectories, bool bootstrap,
                                bool pinned) {
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
    *out_tensors[i] = CatOnHost(field, bootstrap ? 0 : 1, pinned);
  }
  return out;
}

// One history entry's content: what its token is made of.
struct Impression {
  int64_t item;
  int32_t topic;
  uint32_t response_bits;  // the float's bits: equal tokens from equal bits
  bool operator==(const Impression& o) const {
    return item == o.item && topic == o.topic && response_bits == o.response_bits;
  }
};
struct ImpressionHash {
  size_t operator()(const Impression& i) const {
    uint64_t h = static_cast<uint64_t>(i.item) * 0x9E3779B97F4A7C15ull;
    h ^= (static_cast<uint64_t>(static_cast<uint32_t>(i.topic)) << 32 | i.response_bits) +
         0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

}  // namespace

Batch MakeBatch(const std::vector<common::Trajectory>& trajectories, torch::Device device,
                bool pinned, bool distinct_history) {
  torch::NoGradGuard no_grad;
  Batch b;
  b.steps = StackStates(trajectories, /*bootstrap=*/false, pinned);
  b.bootstrap = StackStates(trajectories, /*bootstrap=*/true, pinned);
  b.slates = Stack(trajectories, 1, pinned, [](const auto& t) { return t.slates; });
  b.behaviour_log_probs =
      Stack(trajectories, 1, pinned, [](const auto& t) { return t.behaviour_log_probs; });
  b.rewards = Stack(trajectories, 1, pinned, [](const auto& t) { return t.rewards; });
  b.dones = Stack(trajectories, 1, pinned, [](const auto& t) { return t.dones; });
  if (distinct_history) IndexDistinctHistory(&b, pinned);
  for (torch::Tensor* x : TensorsOf(b)) {
    if (x->defined()) *x = x->to(device, /*non_blocking=*/pinned);
  }
  b.slates = b.slates.to(torch::kInt64);
  b.dones = b.dones.to(torch::kFloat32);
  return b;
}

void IndexDistinctHistory(Batch* batch, bool pinned) {
  torch::NoGradGuard no_grad;
  // The history entries of AllStates' rows: the steps', step-major, then the bootstrap's.
  const int64_t H = batch->steps.history_items.size(2);
  const auto rows = [&](const torch::Tensor& steps, const torch::Tensor& bootstrap,
                        torch::ScalarType type) {
    return torch::cat({steps.reshape({-1, H}), bootstrap.reshape({-1, H})}, 0)
        .to(torch::kCPU, type)
        .contiguous();
  };
  const auto items =
      rows(batch->steps.history_items, batch->bootstrap.history_items, torch::kInt64);
  const auto topics =
      rows(batch->steps.history_topics, batch->bootstrap.history_topics, torch::kInt32);
  const auto responses =
      rows(batch->steps.history_responses, batch->bootstrap.history_responses, torch::kFloat32);
  const int64_t entries = items.numel();
  const int64_t* item = items.data_ptr<int64_t>();
  const int32_t* topic = topics.data_ptr<int32_t>();
  const float* response = responses.data_ptr<float>();

  auto token_of = torch::empty(items.sizes(), torch::kInt64);
  int64_t* slot = token_of.data_ptr<int64_t>();
  std::unordered_map<Impression, int64_t, ImpressionHash> seen;
  seen.reserve(static_cast<size_t>(entries / 4 + 16));
  std::vector<int64_t> first;  // the entry that first held each distinct impression
  for (int64_t e = 0; e < entries; ++e) {
    Impression key{item[e], topic[e], 0};
    std::memcpy(&key.response_bits, &response[e], sizeof(float));
    if (key.topic < 0) key = Impression{-1, -1, 0};  // every empty entry: one (masked) token
    const auto [it, added] = seen.emplace(key, static_cast<int64_t>(first.size()));
    if (added) first.push_back(e);
    slot[e] = it->second;
  }
  const auto picks =
      torch::from_blob(first.data(), {static_cast<int64_t>(first.size())}, torch::kInt64);
  const auto keep = [&](torch::Tensor x) { return pinned ? x.pin_memory() : x; };
  batch->distinct_items = keep(items.reshape({-1}).index_select(0, picks));
  batch->distinct_topics = keep(topics.reshape({-1}).index_select(0, picks));
  batch->distinct_responses = keep(responses.reshape({-1}).index_select(0, picks));
  batch->token_of = keep(token_of);
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

std::vector<torch::Tensor*> TensorsOf(Batch& batch) {
  std::vector<torch::Tensor*> out;
  for (auto* x : common::TensorsOf(batch.steps)) out.push_back(x);
  for (auto* x : common::TensorsOf(batch.bootstrap)) out.push_back(x);
  for (auto* x : {&batch.slates, &batch.behaviour_log_probs, &batch.rewards, &batch.dones,
                  &batch.distinct_items, &batch.distinct_topics, &batch.distinct_responses,
                  &batch.token_of}) {
    out.push_back(x);
  }
  return out;
}

}  // namespace rlrec::learner
