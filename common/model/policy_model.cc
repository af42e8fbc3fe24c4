#include "common/model/policy_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/data/state_tensors.h"

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
  o.history_length = config.sim.history_length;
  o.layers = config.model.layers;
  o.heads = config.model.heads;
  o.ffn = config.model.ffn;
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
  } else if (options.user_encoder == UserEncoder::kTransformer) {
    HistoryTransformerOptions t;
    t.hidden = D;
    t.layers = options.layers;
    t.heads = options.heads;
    t.ffn = options.ffn > 0 ? options.ffn : 4 * D;
    t.history = options.history_length;
    history_transformer_ = register_module("history_transformer", HistoryTransformer(t));
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

torch::Tensor PolicyModelImpl::HistoryTokens(const torch::Tensor& items,
                                             const torch::Tensor& topics,
                                             const torch::Tensor& responses) {
  auto response = responses.clamp_min(0);
  auto response_features =
      torch::stack({torch::log1p(response), (response > 0).to(torch::kFloat)}, -1);
  return ItemVectors(ItemRows(items)) +
         topic_embedding_(topics.to(torch::kLong).clamp_min(-1) + 1) +
         response_in_(response_features);
}

torch::Tensor PolicyModelImpl::EncodeHistory(const PolicyInput& input) {
  const int64_t N = input.features.size(0), D = options_.hidden;
  auto tokens = HistoryTokens(input.history_items, input.history_topics,
                              input.history_responses);  // [N, H, D]
  if (options_.user_encoder == UserEncoder::kTransformer) {
    return history_transformer_->Forward(tokens, input.history_topics >= 0);
  }
  auto valid = (input.history_topics >= 0).to(torch::kFloat);  // an entry is an impression
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
  return ForwardWithHistory(input, EncodeHistory(input));
}

PolicyOutput PolicyModelImpl::ForwardWithHistory(const PolicyInput& input,
                                                 const torch::Tensor& history) {
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
  auto user_row = features.select(1, 0);  // [N, F]
  auto items = features.narrow(1, 1, C);  // [N, C, F]
  TORCH_CHECK(history.dim() == 2 && history.size(0) == N && history.size(1) == options_.hidden,
              "the encoded history must be [", N, ", ", options_.hidden, "]");
  auto user = user_out_(torch::relu(user_in_(torch::cat({user_row, history}, 1))));  // [N, D]
  auto candidate_rows = ItemRows(input.candidate_items);                             // [N, C]
  auto item = item_out_(torch::relu(item_in_(items))) + ItemVectors(candidate_rows);
  auto scores = torch::bmm(item, user.unsqueeze(2)).squeeze(2) + item_bias_(items).squeeze(2) +
                item_score_bias_(candidate_rows).squeeze(2);
  auto values = value_out_(torch::relu(value_hidden_(user))).squeeze(1);
  return {scores, values};
}

namespace {

// SampleSlates on a CPU without autograd: the same random draws from `generator` as the tensor
// version, the rest in plain loops (a few microseconds for an actor's batch, where tensor
// operations would cost one dispatch each).
SlateSample SampleSlatesOnCpu(const torch::Tensor& scores, int64_t k, double temperature,
                              torch::Generator& generator, double epsilon) {
  const int64_t N = scores.size(0), C = scores.size(1);
  const auto s = scores.contiguous();
  const auto uniform = torch::rand({N, C}, generator, s.options());
  torch::Tensor random_keys, explore;
  if (epsilon > 0) {
    random_keys = torch::rand({N, C}, generator, s.options());
    explore = torch::rand({N, 1}, generator, s.options());
  }
  SlateSample out{torch::empty({N, k}, torch::kLong), torch::empty({N})};
  const float* score = s.data_ptr<float>();
  const float* u = uniform.data_ptr<float>();
  int64_t* slate = out.slates.data_ptr<int64_t>();
  float* log_prob = out.log_probs.data_ptr<float>();
  double log_uniform = 0;  // -log(C (C - 1) ... (C - K + 1))
  for (int64_t i = 0; i < k; ++i) log_uniform -= std::log(static_cast<double>(C - i));
  std::vector<float> logits(C), keys(C);
  std::vector<char> taken(C);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      logits[c] = static_cast<float>(score[n * C + c] / temperature);
      const float uc = std::max(u[n * C + c], std::numeric_limits<float>::min());
      keys[c] = logits[c] - std::log(-std::log(uc));
    }
    const bool random = epsilon > 0 && explore.data_ptr<float>()[n] < epsilon;
    const float* key = random ? random_keys.data_ptr<float>() + n * C : keys.data();
    // The top K keys, best first.
    std::fill(taken.begin(), taken.end(), 0);
    for (int64_t i = 0; i < k; ++i) {
      int64_t best = -1;
      for (int64_t c = 0; c < C; ++c) {
        if (!taken[c] && (best < 0 || key[c] > key[best])) best = c;
      }
      taken[best] = 1;
      slate[n * k + i] = best;
    }
    // Plackett-Luce log-probability of the slate under the logits.
    double policy = 0;
    std::fill(taken.begin(), taken.end(), 0);
    for (int64_t i = 0; i < k; ++i) {
      double top = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t c = 0; c < C; ++c) {
        if (!taken[c]) top = std::max(top, static_cast<double>(logits[c]));
      }
      for (int64_t c = 0; c < C; ++c) {
        if (!taken[c]) sum += std::exp(logits[c] - top);
      }
      const int64_t chosen = slate[n * k + i];
      policy += logits[chosen] - (top + std::log(sum));
      taken[chosen] = 1;
    }
    if (epsilon > 0) {
      const double a = policy + std::log1p(-epsilon), b = std::log(epsilon) + log_uniform;
      const double m = std::max(a, b);
      policy = m + std::log(std::exp(a - m) + std::exp(b - m));
    }
    log_prob[n] = static_cast<float>(policy);
  }
  return out;
}

}  // namespace

SlateSample SampleSlates(const torch::Tensor& scores, int64_t k, double temperature,
                         torch::Generator& generator, double epsilon) {
  if (scores.device().is_cpu() && scores.scalar_type() == torch::kFloat &&
      !(torch::GradMode::is_enabled() && scores.requires_grad()) && scores.dim() == 2 &&
      k <= scores.size(1)) {
    return SampleSlatesOnCpu(scores, k, temperature, generator, epsilon);
  }
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
