#ifndef RLREC_COMMON_MODEL_HISTORY_TRANSFORMER_H_
#define RLREC_COMMON_MODEL_HISTORY_TRANSFORMER_H_

#include <torch/torch.h>

#include <vector>

namespace rlrec::common {

// Sizes of a HistoryTransformer.
struct HistoryTransformerOptions {
  int hidden = 64;   // D: width of tokens and of the query stream
  int layers = 2;    // L
  int heads = 4;     // attention heads per layer; must divide D
  int ffn = 256;     // width of each layer's feed-forward block
  int history = 10;  // H: the most history entries attended to (ages 0 .. H-1)
};

// One layer of HistoryTransformer: the query stream's multi-head attention over the history
// (with a learned bias per head and age, and a learned "nothing relevant" slot per head that
// also answers an empty history), then a feed-forward block, each pre-normed and residual.
class HistoryAttentionLayerImpl : public torch::nn::Module {
 public:
  HistoryAttentionLayerImpl(const HistoryTransformerOptions& options);
  // The query stream `h` [N, D] after this layer, attending to `keys` and `values` [N, S, D]
  // of S slots, slot s holding the entry of age `ages`[n, s] (int64 in [0, H)) when
  // `valid`[n, s] (bool).
  torch::Tensor Forward(const torch::Tensor& h, const torch::Tensor& keys,
                        const torch::Tensor& values, const torch::Tensor& ages,
                        const torch::Tensor& valid);

 private:
  int heads_;
  torch::nn::LayerNorm query_norm_{nullptr}, ffn_norm_{nullptr};
  torch::nn::Linear query_{nullptr}, out_{nullptr}, ffn_in_{nullptr}, ffn_out_{nullptr};
  torch::Tensor age_bias_;    // [heads, H]
  torch::Tensor null_logit_;  // [heads]
  torch::Tensor null_value_;  // [D]
};
TORCH_MODULE(HistoryAttentionLayer);

// The transformer user encoder (model.user_encoder = transformer). A query stream, started
// from a learned vector, goes through L layers of multi-head attention over the user's history
// tokens (newest first, at most H), causal by construction: it sits after the newest
// impression and reads only the past. Each layer's keys and values of an impression are
// projections of that impression's token alone (one shared LayerNorm, then one linear map to
// all layers' keys and values), not of other impressions: an impression's keys and values
// never change once it is seen, so an actor computes them once per impression and keeps them
// (actors/history_cache.h), and its answers equal a full recompute over the window. Positions
// enter as a learned attention bias per layer, head and age. Like every torch::nn::Module, not
// safe for concurrent forward and parameter updates.
class HistoryTransformerImpl : public torch::nn::Module {
 public:
  explicit HistoryTransformerImpl(const HistoryTransformerOptions& options);

  // The user vector [N, D] of history `tokens` [N, H', D] (newest first, H' <= H) of which
  // `valid` [N, H'] (bool) are impressions: a full recompute.
  torch::Tensor Forward(const torch::Tensor& tokens, const torch::Tensor& valid);

  // Every layer's keys and values of `tokens` [..., D]: [..., L, 2, D] (keys at index 0).
  torch::Tensor KeysValues(const torch::Tensor& tokens);

  // The user vector [N, D] from per-slot keys and values `kv` [N, S, L, 2, D] (as KeysValues
  // gives) of the entries of `ages` [N, S] (int64) where `valid` [N, S] (bool).
  torch::Tensor Attend(const torch::Tensor& kv, const torch::Tensor& ages,
                       const torch::Tensor& valid);

  const HistoryTransformerOptions& options() const { return options_; }

 private:
  HistoryTransformerOptions options_;
  torch::Tensor query_;  // [D]: the query stream's start
  torch::nn::LayerNorm memory_norm_{nullptr}, out_norm_{nullptr};
  torch::nn::Linear memory_{nullptr};  // D -> L * 2 * D
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(HistoryTransformer);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_HISTORY_TRANSFORMER_H_
