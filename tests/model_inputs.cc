#include "tests/model_inputs.h"

namespace rlrec::testing {

common::PolicyModelOptions SmallModel(int feature_dim, int hidden, int item_buckets, int topics,
                                      const std::string& encoder) {
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

common::PolicyInput Clone(const common::PolicyInput& input) {
  return {input.features.clone(), input.candidate_items.clone(), input.history_items.clone(),
          input.history_topics.clone(), input.history_responses.clone()};
}

learner::Batch::Context EmptyContext(std::vector<int64_t> lead, int64_t C) {
  auto with = [&](int64_t last) {
    auto shape = lead;
    shape.push_back(last);
    return shape;
  };
  return {torch::full(with(C), -1, torch::kInt64), torch::empty(with(0), torch::kInt64),
          torch::empty(with(0), torch::kInt64), torch::empty(with(0))};
}

}  // namespace rlrec::testing
