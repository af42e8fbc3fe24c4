#include "common/policy_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/state_tensors.h"

namespace rlrec::common {

PolicyModelOptions ModelOptions(const RunConfig& config) {
  PolicyModelOptions o;
  o.feature_dim = ObservationFeatures(config.sim.topics);
  o.hidden = config.model.hidden;
  o.item_buckets =
      config.model.item_buckets > 0 ? config.model.item_buckets : config.sim.corpus_size;
  o.embedding_dim = config.model.embedding_dim;
  o.sparse_tables = config.learner.table_optimizer == TableOptimizer::kRowAdagrad;
  o.topics = config.sim.topics;
  o.user_encoder = config.model.user_encoder;
  return o;
}

PolicyModelImpl::PolicyModelImpl(const PolicyModelOptions& options) : options_(options) {
  TORCH_CHECK(options.feature_dim > 0 && options.hidden > 0 && options.item_buckets >= 0 &&
                  options.embedding_dim >= 0 && options.topics >= 0,
              "bad policy model sizes");
  const int F = options.feature_dim, D = options.hidden;
  const int E = options.embedding_dim > 0 ? options.embedding_dim : D;
  // Row 0 of the id embeddings stands for "no id" (and, in the history, an empty entry).
  auto table = [&](int width) {
    auto table_options =
        torch::nn::EmbeddingOptions(options.item_buckets + 1, width).sparse(options.sparse_tables);
    // A given weight is taken as it is: no initialisation touches its pages.
    if (options.uninitialised_tables) {
      table_options._weight(torch::empty({options.item_buckets + 1, width}));
    }
    return table_options;
  };
  item_embedding_ = register_module("item_embedding", torch::nn::Embedding(table(E)));
  item_score_bias_ = register_module("item_score_bias", torch::nn::Embedding(table(1)));
  if (E != D) {
    item_projection_ = register_module(
        "item_projection", torch::nn::Linear(torch::nn::LinearOptions(E, D).bias(false)));
  }
  topic_embedding_ =
      register_module("topic_embedding", torch::nn::Embedding(options.topics + 1, D));
  response_in_ = register_module("response_in", torch::nn::Linear(2, D));
  if (options.user_encoder == UserEncoder::kGru) {
    history_gru_ = register_module("history_gru", torch::nn::GRUCell(D, D));
  }
  user_in_ = register_module("user_in", torch::nn::Linear(F + D, D));
  user_out_ = register_module("user_out", torch::nn::Linear(D, D));
  item_in_ = register_module("item_in", torch::nn::Linear(F, D));
  item_out_ = register_module("item_out", torch::nn::Linear(D, D));
  item_bias_ = register_module("item_bias", torch::nn::Linear(F, 1));
  value_hidden_ = register_module("value_hidden", torch::nn::Linear(D, D));
  value_out_ = register_module("value_out", torch::nn::Linear(D, 1));
  // Small id embeddings: at the start, scores come from the features, and ids earn their
  // weight as their items are seen.
  torch::NoGradGuard no_grad;
  if (!options.uninitialised_tables) {
    item_embedding_->weight.normal_(0, 0.01);
    item_score_bias_->weight.zero_();
  }
  topic_embedding_->weight.normal_(0, 0.1);
}

std::vector<torch::Tensor> PolicyModelImpl::SparseTables() const {
  if (!options_.sparse_tables) return {};
  return {item_embedding_->weight, item_score_bias_->weight};
}

std::vector<torch::Tensor> PolicyModelImpl::DenseParameters() const {
  std::vector<torch::Tensor> dense;
  const auto tables = SparseTables();
  for (const auto& p : parameters()) {
    const bool table = std::any_of(tables.begin(), tables.end(),
                                   [&](const torch::Tensor& t) { return t.is_same(p); });
    if (!table) dense.push_back(p);
  }
  return dense;
}

torch::Tensor PolicyModelImpl::ItemVectors(const torch::Tensor& rows) {
  auto rows_e = item_embedding_(rows);
  return item_projection_ ? item_projection_(rows_e) : rows_e;
}

torch::Tensor PolicyModelImpl::ItemRows(const torch::Tensor& ids) const {
  auto ids64 = ids.to(torch::kLong);
  if (options_.item_buckets == 0) return torch::zeros_like(ids64);
  return torch::where(ids64 >= 0, ids64.remainder(options_.item_buckets) + 1,
                      torch::zeros_like(ids64));
}

torch::Tensor PolicyModelImpl::EncodeHistory(const PolicyInput& input) {
  const int64_t N = input.features.size(0), D = options_.hidden;
  auto topics = input.history_topics.to(torch::kLong);  // [N, H]
  auto valid = (topics >= 0).to(torch::kFloat);         // an entry is an impression
  auto response = input.history_responses.clamp_min(0);
  auto response_features =
      torch::stack({torch::log1p(response), (response > 0).to(torch::kFloat)}, 2);
  auto tokens = ItemVectors(ItemRows(input.history_items)) +
                topic_embedding_(topics.clamp_min(-1) + 1) +
                response_in_(response_features);  // [N, H, D]
  if (options_.user_encoder == UserEncoder::kPooled) {
    auto count = valid.sum(1, /*keepdim=*/true).clamp_min(1);
    return (tokens * valid.unsqueeze(2)).sum(1) / count;
  }
  // Oldest to newest; an empty entry leaves the state as it was.
  auto state = torch::zeros({N, D}, tokens.options());
  for (int64_t j = tokens.size(1) - 1; j >= 0; --j) {
    auto next = history_gru_(tokens.select(1, j), state);
    state = torch::where(valid.select(1, j).unsqueeze(1) > 0, next, state);
  }
  return state;
}

PolicyOutput PolicyModelImpl::Forward(const PolicyInput& input) {
  const auto& features = input.features;
  TORCH_CHECK(features.dim() == 3 && features.size(2) == options_.feature_dim,
              "features must be [N, 1 + C, ", options_.feature_dim, "], got ", features.sizes());
  const int64_t N = features.size(0), C = features.size(1) - 1;
  TORCH_CHECK(input.candidate_items.sizes() == torch::IntArrayRef({N, C}),
              "candidate_items must be [", N, ", ", C, "], got ", input.candidate_items.sizes());
  TORCH_CHECK(input.history_items.dim() == 2 && input.history_items.size(0) == N &&
                  input.history_topics.sizes() == input.history_items.sizes() &&
                  input.history_responses.sizes() == input.history_items.sizes(),
              "history tensors must all be [", N, ", H]");
  auto user_row = features.select(1, 0);                                             // [N, F]
  auto items = features.narrow(1, 1, C);                                             // [N, C, F]
  auto history = EncodeHistory(input);                                               // [N, D]
  auto user = user_out_(torch::relu(user_in_(torch::cat({user_row, history}, 1))));  // [N, D]
  auto candidate_rows = ItemRows(input.candidate_items);                             // [N, C]
  auto item = item_out_(torch::relu(item_in_(items))) + ItemVectors(candidate_rows);
  auto scores = torch::bmm(item, user.unsqueeze(2)).squeeze(2) + item_bias_(items).squeeze(2) +
                item_score_bias_(candidate_rows).squeeze(2);
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
