#ifndef RLREC_COMMON_POLICY_MODEL_H_
#define RLREC_COMMON_POLICY_MODEL_H_

#include <torch/torch.h>

namespace rlrec::common {

// What the policy computes for a batch of N states.
struct PolicyOutput {
  torch::Tensor scores;  // float [N, C]: one score per candidate
  torch::Tensor values;  // float [N]: estimated return from the state
};

// The recommendation policy: a user encoder over the user row of the observation, an item
// encoder over each candidate row, candidate scores as their dot product plus a per-item
// bias from the item features, and a value head on the user vector.
// Observations are float [N, 1 + C, F] (row 0: the user; rows 1..C: candidates).
// Like every torch::nn::Module, not safe for concurrent forward and parameter updates.
class PolicyModelImpl : public torch::nn::Module {
 public:
  PolicyModelImpl(int feature_dim, int hidden);
  PolicyOutput Forward(const torch::Tensor& observations);
  int feature_dim() const { return feature_dim_; }

 private:
  int feature_dim_;
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

#endif  // RLREC_COMMON_POLICY_MODEL_H_
