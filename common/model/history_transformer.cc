#include "common/model/history_transformer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace rlrec::common {

HistoryAttentionLayerImpl::HistoryAttentionLayerImpl(const HistoryTransformerOptions& o)
    : heads_(o.heads) {
  TORCH_CHECK(o.heads > 0 && o.hidden % o.heads == 0, "model.heads (", o.heads,
              ") must divide model.hidden (", o.hidden, ")");
  const int D = o.hidden;
  query_norm_ =
      register_module("query_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  query_ = register_module("query", torch::nn::Linear(D, D));
  out_ = register_module("out", torch::nn::Linear(D, D));
  ffn_norm_ = register_module("ffn_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  ffn_in_ = register_module("ffn_in", torch::nn::Linear(D, o.ffn));
  ffn_out_ = register_module("ffn_out", torch::nn::Linear(o.ffn, D));
  age_bias_ = register_parameter("age_bias", torch::zeros({o.heads, std::max(1, o.history)}));
  null_logit_ = register_parameter("null_logit", torch::zeros({o.heads}));
  null_value_ = register_parameter("null_value", torch::zeros({D}));
}

torch::Tensor HistoryAttentionLayerImpl::Forward(const torch::Tensor& h, const torch::Tensor& keys,
                                                 const torch::Tensor& values,
                                                 const torch::Tensor& ages,
                                                 const torch::Tensor& valid) {
  const int64_t N = h.size(0), D = h.size(1), S = keys.size(1), A = heads_, W = D / A;
  auto q = query_(query_norm_(h)).view({N, A, 1, W});
  auto k = keys.reshape({N, S, A, W}).permute({0, 2, 3, 1});                         // [N, A, W, S]
  auto v = values.reshape({N, S, A, W}).permute({0, 2, 1, 3});                       // [N, A, S, W]
  auto logits = torch::matmul(q, k).squeeze(2) / std::sqrt(static_cast<double>(W));  // [N, A, S]
  // The bias of each slot's age, per head: age_bias_[a, ages[n, s]].
  auto bias = age_bias_.index_select(1, ages.reshape({-1})).view({A, N, S}).permute({1, 0, 2});
  logits =
      (logits + bias)
          .masked_fill(valid.logical_not().unsqueeze(1), -std::numeric_limits<float>::infinity());
  auto all_logits = torch::cat({logits, null_logit_.view({1, A, 1}).expand({N, A, 1})}, 2);
  auto p = torch::softmax(all_logits, 2);                                   // [N, A, S + 1]
  auto read = torch::matmul(p.narrow(2, 0, S).unsqueeze(2), v).squeeze(2);  // [N, A, W]
  read = read + p.narrow(2, S, 1) * null_value_.view({1, A, W});
  auto x = h + out_(read.reshape({N, D}));
  return x + ffn_out_(torch::gelu(ffn_in_(ffn_norm_(x))));
}

HistoryTransformerImpl::HistoryTransformerImpl(const HistoryTransformerOptions& options)
    : options_(options) {
  TORCH_CHECK(options.hidden > 0 && options.layers > 0 && options.ffn > 0 && options.history >= 0,
              "bad history transformer sizes");
  const int D = options.hidden;
  query_ = register_parameter("query", torch::randn({D}) * 0.02);
  memory_norm_ =
      register_module("memory_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
  memory_ = register_module("memory", torch::nn::Linear(D, options.layers * 2 * D));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int l = 0; l < options.layers; ++l) layers_->push_back(HistoryAttentionLayer(options));
  out_norm_ = register_module("out_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));
}

torch::Tensor HistoryTransformerImpl::KeysValues(const torch::Tensor& tokens) {
  std::vector<int64_t> shape = tokens.sizes().vec();
  shape.back() = options_.layers;
  shape.push_back(2);
  shape.push_back(options_.hidden);
  return memory_(memory_norm_(tokens)).view(shape);
}

torch::Tensor HistoryTransformerImpl::Attend(const torch::Tensor& kv, const torch::Tensor& ages,
                                             const torch::Tensor& valid) {
  const int64_t N = kv.size(0);
  auto h = query_.unsqueeze(0).expand({N, options_.hidden});
  for (int l = 0; l < options_.layers; ++l) {
    auto layer_kv = kv.select(2, l);  // [N, S, 2, D]
    h = layers_[l]->as<HistoryAttentionLayer>()->Forward(h, layer_kv.select(2, 0),
                                                         layer_kv.select(2, 1), ages, valid);
  }
  return out_norm_(h);
}

torch::Tensor HistoryTransformerImpl::Forward(const torch::Tensor& tokens,
                                              const torch::Tensor& valid) {
  const int64_t N = tokens.size(0), S = tokens.size(1);
  TORCH_CHECK(S <= std::max(1, options_.history), "the history holds ", S,
              " entries, more than the transformer's ", options_.history);
  auto ages = torch::arange(S, torch::TensorOptions().dtype(torch::kLong).device(tokens.device()))
                  .unsqueeze(0)
                  .expand({N, S});
  return Attend(KeysValues(tokens), ages, valid);
}

}  // namespace rlrec::common
