#ifndef RLREC_COMMON_MODEL_POLICY_MODEL_H_
#define RLREC_COMMON_MODEL_POLICY_MODEL_H_

#include <torch/torch.h>

#include "common/config/config_keys.h"
#include "common/model/history_transformer.h"
#include "common/model/torch_views.h"

namespace rlrec::common {

// Sizes and choices of the policy network.
struct PolicyModelOptions {
  int feature_dim = 0;    // F: features per observation row
  int hidden = 64;        // D: width of every embedding and layer
  int item_buckets = 0;   // item-id embedding rows (id mod buckets); 0: ids are not embedded
  int embedding_dim = 0;  // width of an item-id embedding row; 0: hidden (else projected to it)
  bool sparse_tables = false;  // the item tables' gradients are sparse rows (row_adagrad)
  int topics = 0;              // topic ids in [0, topics) in the history
  UserEncoder user_encoder = UserEncoder::kPooled;  // history encoder
  int history_length = 10;                          // H: history entries per state
  int layers = 2, heads = 4, ffn = 0;               // transformer sizes (ffn 0: 4 x hidden)
  // The item tables are left uninitialised, their pages untouched (no memory used) until
  // written: for a model whose weights all come from a snapshot, like an actor's, whose tables
  // are then views of the snapshot (common/model/snapshot.h) and never cost a copy of their own.
  bool uninitialised_tables = false;
};

// The model `config` describes: features of its simulator, model.hidden, model.item_buckets
// (0 there: sim.corpus_size), model.embedding_dim, sim.topics, model.user_encoder,
// sim.history_length, model.layers, model.heads, model.ffn, and sparse table gradients for
// learner.table_optimizer = row_adagrad.
PolicyModelOptions ModelOptions(const RunConfig& config);

// What the policy sees of N states: every state tensor (common/data/state_tensors.h) with leading
// dimension [N]; history_topics may be int32 or int64.
using PolicyInput = TorchStates;

// What the policy computes for a batch of N states.
struct PolicyOutput {
  torch::Tensor scores;  // float [N, C]: one score per candidate
  torch::Tensor values;  // float [N]: estimated return from the state
};

// The recommendation policy. A user encoder reads the user's history (each impression a token:
// an item-id embedding plus a topic embedding plus a projection of the response; the tokens
// averaged over the valid entries, run oldest-to-newest through a GRU, or attended to by a
// transformer, common/model/history_transformer.h) together with the user feature row;
// an item encoder turns each candidate's feature row into a vector and adds its item-id
// embedding (shared with the history). A candidate's score is the dot product of the two plus
// a bias from its features and a learned per-item bias; a value head reads the user vector.
// Like every torch::nn::Module, not safe for concurrent forward and parameter updates.
class PolicyModelImpl : public torch::nn::Module {
 public:
  explicit PolicyModelImpl(const PolicyModelOptions& options);
  // Throws c10::Error when the input's shapes disagree with each other or with the options.
  PolicyOutput Forward(const PolicyInput& input);
  // Forward with the history already encoded: `history` [N, D] stands for EncodeHistory(input)
  // (an actor's incremental transformer state gives it, actors/history_cache.h).
  PolicyOutput ForwardWithHistory(const PolicyInput& input, const torch::Tensor& history);
  // The history encoder's output [N, D] for `input`'s histories.
  torch::Tensor EncodeHistory(const PolicyInput& input);
  // The tokens [..., D] of impressions (`items` int64, `topics` int32 or int64, `responses`
  // float, all of one shape [...]); an entry with topic < 0 is empty.
  torch::Tensor HistoryTokens(const torch::Tensor& items, const torch::Tensor& topics,
                              const torch::Tensor& responses);
  // The transformer user encoder; null unless options.user_encoder is transformer.
  HistoryTransformer history_transformer() const { return history_transformer_; }
  const PolicyModelOptions& options() const { return options_; }
  // The item tables (item-id embedding and per-item score bias: their rows are indexed by item
  // id) when their gradients are sparse (options.sparse_tables), else none.
  std::vector<torch::Tensor> SparseTables() const;
  // Every other parameter (all of them without sparse tables), in registration order.
  std::vector<torch::Tensor> DenseParameters() const;

 private:
  torch::Tensor ItemRows(const torch::Tensor& ids) const;  // embedding row of each id
  torch::Tensor ItemVectors(const torch::Tensor& rows);    // [..., D] id embedding of rows

  PolicyModelOptions options_;
  torch::nn::Embedding item_embedding_{nullptr}, item_score_bias_{nullptr};
  torch::nn::Linear item_projection_{nullptr};  // embedding_dim -> hidden, when they differ
  torch::nn::Embedding topic_embedding_{nullptr};
  torch::nn::Linear response_in_{nullptr};
  torch::nn::GRUCell history_gru_{nullptr};
  HistoryTransformer history_transformer_{nullptr};
  torch::nn::Linear user_in_{nullptr}, user_out_{nullptr};
  torch::nn::Linear item_in_{nullptr}, item_out_{nullptr}, item_bias_{nullptr};
  torch::nn::Linear value_hidden_{nullptr}, value_out_{nullptr};
};
TORCH_MODULE(PolicyModel);

// A slate drawn for each of N states.
struct SlateSample {
  torch::Tensor slates;     // int64 [N, K]: candidate indices in slate order
  torch::Tensor log_probs;  // float [N]: exact log-probability of each slate
};

// Draws K distinct candidates per row from the Plackett-Luce distribution of
// softmax(scores / temperature): the Gumbel top-K of the perturbed logits is an exact
// sample of sequential sampling without replacement. `generator` makes draws reproducible.
// With `epsilon` > 0, each row's slate is instead, with probability epsilon, K distinct
// candidates in uniformly random order; the log-probability is then the exact one of the
// mixture, log((1 - epsilon) PL(slate) + epsilon / (C (C - 1) ... (C - K + 1))).
SlateSample SampleSlates(const torch::Tensor& scores, int64_t k, double temperature,
                         torch::Generator& generator, double epsilon = 0.0);

// The exact Plackett-Luce log-probability of `slates` (int64 [N, K]) under
// softmax(scores / temperature): sum over positions of the chosen logit minus the
// log-sum-exp of the candidates not yet chosen. Differentiable in `scores`.
torch::Tensor SlateLogProb(const torch::Tensor& scores, const torch::Tensor& slates,
                           double temperature);

// Entropy of the first-position choice distribution, per row [N]: the exploration term of
// the loss (the slate entropy has no closed form; its first factor tracks it).
torch::Tensor FirstChoiceEntropy(const torch::Tensor& scores, double temperature);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_POLICY_MODEL_H_
