#include "common/policy_model.h"

#include <cmath>
#include <limits>

namespace rlrec::common {

PolicyModelImpl::PolicyModelImpl(int feature_dim, int hidden) : feature_dim_(feature_dim) {
  user_in_ = register_module("user_in", torch::nn::Linear(feature_dim, hidden));
  user_out_ = register_module("user_out", torch::nn::Linear(hidden, hidden));
  item_in_ = register_module("item_in", torch::nn::Linear(feature_dim, hidden));
  item_out_ = register_module("item_out", torch::nn::Linear(hidden, hidden));
  item_bias_ = register_module("item_bias", torch::nn::Linear(feature_dim, 1));
  value_hidden_ = register_module("value_hidden", torch::nn::Linear(hidden, hidden));
  value_out_ = register_module("value_out", torch::nn::Linear(hidden, 1));
}

PolicyOutput PolicyModelImpl::Forward(const torch::Tensor& observations) {
  TORCH_CHECK(observations.dim() == 3 && observations.size(2) == feature_dim_,
              "observations must be [N, 1 + C, ", feature_dim_, "], got ", observations.sizes());
  auto user_row = observations.select(1, 0);                         // [N, F]
  auto items = observations.narrow(1, 1, observations.size(1) - 1);  // [N, C, F]
  auto user = user_out_(torch::relu(user_in_(user_row)));            // [N, H]
  auto item = item_out_(torch::relu(item_in_(items)));               // [N, C, H]
  auto scores = torch::bmm(item, user.unsqueeze(2)).squeeze(2) + item_bias_(items).squeeze(2);
  auto values = value_out_(torch::relu(value_hidden_(user))).squeeze(1);
  return {scores, values};
}

SlateSample SampleSlates(const torch::Tensor& scores, int64_t k, double temperature,
                         torch::Generator& generator, double epsilon) {
  auto logits = scores / temperature;
  auto uniform = torch::rand(logits.sizes(), generator, logits.options())
                     .clamp_(std::numeric_limits<float>::min(), 1.0);
  auto gumbel = -torch::log(-torch::log(uniform));
  auto slates = std::get<1>(torch::topk(logits + gumbel, k, /*dim=*/1));
  if (epsilon <= 0) return {slates, SlateLogProb(scores, slates, temperature)};
  // Explore: the top K of uniform keys is a uniformly random ordered K-subset.
  auto random_keys = torch::rand(logits.sizes(), generator, logits.options());
  auto random_slates = std::get<1>(torch::topk(random_keys, k, /*dim=*/1));
  auto explore = torch::rand({scores.size(0), 1}, generator, logits.options()) < epsilon;
  slates = torch::where(explore, random_slates, slates);
  double log_uniform = 0;  // -log(C (C - 1) ... (C - K + 1))
  for (int64_t i = 0; i < k; ++i) log_uniform -= std::log(static_cast<double>(scores.size(1) - i));
  auto policy = SlateLogProb(scores, slates, temperature);
  auto mixture = torch::logaddexp(policy + std::log1p(-epsilon),
                                  torch::full_like(policy, std::log(epsilon) + log_uniform));
  return {slates, mixture};
}

torch::Tensor SlateLogProb(const torch::Tensor& scores, const torch::Tensor& slates,
                           double temperature) {
  auto logits = scores / temperature;
  auto mask = torch::zeros_like(logits);
  auto log_prob = torch::zeros({scores.size(0)}, scores.options());
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t position = 0; position < slates.size(1); ++position) {
    auto chosen = slates.narrow(1, position, 1);  // [N, 1]
    log_prob =
        log_prob + logits.gather(1, chosen).squeeze(1) - torch::logsumexp(logits + mask, /*dim=*/1);
    mask = mask.scatter(1, chosen, neg_inf);
  }
  return log_prob;
}

torch::Tensor FirstChoiceEntropy(const torch::Tensor& scores, double temperature) {
  auto log_p = torch::log_softmax(scores / temperature, /*dim=*/1);
  return -(log_p.exp() * log_p).sum(1);
}

}  // namespace rlrec::common
