#include "tests/model_inputs.h"

namespace rlrec::testing {

common::PolicyModelOptions SmallModel(int feature_dim, int hidden, int item_buckets, int topics,
                                      common::UserEncoder encoder) {
  common::PolicyModelOptions o;
  o.feature_dim = feature_dim;
  o.hidden = hidden;
  o.item_buckets = item_buckets;
  o.topics = topics;
  o.user_encoder = encoder;
  return o;
}

common::PolicyInput RandomInput(int64_t N, int64_t C, int64_t F, int64_t H, int64_t items,
                                int64_t topics, int64_t filled) {
  common::PolicyInput in;
  in.features = torch::randn({N, 1 + C, F});
  auto ids = [&](int64_t n, std::vector<int64_t> shape) {
    return n > 0 ? torch::randint(n, shape, torch::kInt64) : torch::full(shape, -1, torch::kInt64);
  };
  in.candidate_items = ids(items, {N, C});
  in.history_items = ids(items, {N, H});
  in.history_topics = ids(topics, {N, H});
  in.history_responses = torch::rand({N, H}) * 3;
  if (filled < H) {
    in.history_items.narrow(1, filled, H - filled).fill_(-1);
    in.history_topics.narrow(1, filled, H - filled).fill_(-1);
    in.history_responses.narrow(1, filled, H - filled).fill_(0);
  }
  return in;
}

common::PolicyInput FormulaInput(int64_t N, int64_t C, int64_t F, int64_t H, int64_t items,
                                 int64_t topics) {
  common::PolicyInput in;
  in.features =
      torch::sin(torch::arange(N * (C + 1) * F, torch::kFloat) * 0.37).reshape({N, C + 1, F});
  in.candidate_items = (torch::arange(N * C, torch::kLong) * 7 % items).reshape({N, C});
  in.history_items = (torch::arange(N * H, torch::kLong) * 3 % items).reshape({N, H});
  in.history_topics = (torch::arange(N * H, torch::kLong) % topics).reshape({N, H});
  in.history_responses =
      ((torch::arange(N * H, torch::kLong) % 5).to(torch::kFloat) * 0.5).reshape({N, H});
  const int64_t filled = H / 2;
  in.history_items.narrow(1, filled, H - filled).fill_(-1);
  in.history_topics.narrow(1, filled, H - filled).fill_(-1);
  in.history_responses.narrow(1, filled, H - filled).fill_(0);
  return in;
}

common::PolicyInput Clone(const common::PolicyInput& input) {
  common::PolicyInput copy = input;
  for (torch::Tensor* x : common::TensorsOf(copy)) *x = x->clone();
  return copy;
}

common::TorchStates NoIds(torch::Tensor features, int64_t C) {
  std::vector<int64_t> lead(features.sizes().begin(), features.sizes().end() - 2);
  auto with = [&](int64_t last) {
    auto shape = lead;
    shape.push_back(last);
    return shape;
  };
  common::TorchStates s;
  s.features = std::move(features);
  s.candidate_items = torch::full(with(C), -1, torch::kInt64);
  s.history_items = torch::empty(with(0), torch::kInt64);
  s.history_topics = torch::empty(with(0), torch::kInt64);
  s.history_responses = torch::empty(with(0));
  return s;
}

void ShiftHistories(learner::Batch* batch) {
  torch::NoGradGuard no_grad;
  const int64_t T = batch->unroll(), H = batch->steps.history_items.size(2);
  const auto shift = [H](const torch::Tensor& now, const torch::Tensor& before) {
    now.narrow(-1, 1, H - 1).copy_(before.narrow(-1, 0, H - 1));
  };
  for (auto field : {&common::TorchStates::history_items, &common::TorchStates::history_topics,
                     &common::TorchStates::history_responses}) {
    auto& steps = batch->steps.*field;
    steps.select(0, 0).narrow(-1, 1, H - 1).fill_(-1);
    for (int64_t t = 1; t < T; ++t) shift(steps.select(0, t), steps.select(0, t - 1));
    shift(batch->bootstrap.*field, steps.select(0, T - 1));
  }
}

learner::Batch RandomBatch(int64_t T, int64_t N, int64_t C, int64_t F, int64_t K, int64_t H,
                           int64_t items, int64_t topics, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  // Ids of the states with leading dimensions `lead`, drawn after every other tensor.
  auto add_ids = [&](std::vector<int64_t> lead, common::TorchStates& c) {
    auto with = [&](int64_t last) {
      auto shape = lead;
      shape.push_back(last);
      return shape;
    };
    c.candidate_items = torch::randint(0, items, with(C), gen, i64);
    c.history_items = torch::randint(0, items, with(H), gen, i64);
    c.history_topics = torch::randint(0, topics, with(H), gen, i64);
    c.history_responses = torch::rand(with(H), gen, f32) * 3;
    const int64_t filled = H / 2;
    c.history_items.narrow(-1, filled, H - filled).fill_(-1);
    c.history_topics.narrow(-1, filled, H - filled).fill_(-1);
    c.history_responses.narrow(-1, filled, H - filled).fill_(0);
  };
  learner::Batch b;
  b.steps.features = torch::randn({T, N, 1 + C, F}, gen, f32);
  b.slates = std::get<1>(torch::rand({T, N, C}, gen, f32).topk(K, -1));
  b.behaviour_log_probs = -1 - torch::rand({T, N}, gen, f32) * 3;
  b.rewards = torch::rand({T, N}, gen, f32) * 5;
  b.dones = (torch::rand({T, N}, gen, f32) < 0.1).to(torch::kFloat);
  b.bootstrap.features = torch::randn({N, 1 + C, F}, gen, f32);
  add_ids({T, N}, b.steps);
  add_ids({N}, b.bootstrap);
  return b;
}

learner::Batch ConcatUsers(const std::vector<learner::Batch>& batches) {
  auto cat = [&](auto member, int64_t dim) {
    std::vector<torch::Tensor> parts;
    for (const auto& b : batches) parts.push_back(member(b));
    return torch::cat(parts, dim);
  };
  std::vector<common::TorchStates> steps, bootstrap;
  for (const auto& b : batches) {
    steps.push_back(b.steps);
    bootstrap.push_back(b.bootstrap);
  }
  learner::Batch out;
  out.steps = common::CatStates(steps, 1);
  out.slates = cat([](const learner::Batch& b) { return b.slates; }, 1);
  out.behaviour_log_probs = cat([](const learner::Batch& b) { return b.behaviour_log_probs; }, 1);
  out.rewards = cat([](const learner::Batch& b) { return b.rewards; }, 1);
  out.dones = cat([](const learner::Batch& b) { return b.dones; }, 1);
  out.bootstrap = common::CatStates(bootstrap, 0);
  return out;
}

}  // namespace rlrec::testing
