#ifndef RLREC_LEARNER_TRAIN_LOSS_H_
#define RLREC_LEARNER_TRAIN_LOSS_H_

#include <torch/torch.h>

#include "common/config/config_keys.h"
#include "common/model/policy_model.h"
#include "learner/train/batch.h"

namespace rlrec::learner {

// What every loss shares: its settings, its terms, one forward pass over a batch and the
// discounted returns. The objectives are vtrace.h, topk_reinforce.h and pg_loss.h.

// The settings of every objective (learner.objective and the keys it reads). Each loss reads
// the fields it needs; the rest are ignored.
struct LossOptions {
  // The defaults of the config table (common/config/config_keys.h).
  LossOptions();
  explicit LossOptions(const common::RunConfig& config);

  common::Objective objective;
  double discount;        // gamma in [0, 1]
  double value_coef;      // weight of the value loss
  double entropy_coef;    // weight of the entropy bonus
  double temperature;     // of the policy's softmax over candidate scores
  double rho_bar;         // vtrace: clip of the importance weights in the targets
  double c_bar;           // vtrace: clip of the trace-cutting weights
  double importance_cap;  // topk_reinforce: cap of the slate importance weight pi / mu
  double max_grad_norm;   // the update's gradient-norm clip; 0: none
  // learner.precision = bf16 on a CUDA learner: the forward pass and the loss run under
  // LibTorch's CUDA autocast to bfloat16 (the weights, gradients and optimizer stay float32).
  bool autocast_bf16;
};

// The terms of one batch's loss, on the host.
struct LossValues {
  double total = 0;
  double policy_loss = 0;
  double value_loss = 0;
  double entropy = 0;
  double mean_value = 0;
  double mean_rho = 0;  // vtrace: mean clipped importance weight; 0 for the other objectives
};

// The loss of one batch and its terms. `total` (a scalar) carries the gradient; `values` holds
// the terms for reports, detached and on the loss's device, so that nothing in an update waits
// for the device to read them: the learner sums them there and reads the sums at report time.
struct LossTerms {
  // The positions in `values`, in LossValues' order.
  enum Index : int64_t { kTotal, kPolicy, kValue, kEntropy, kMeanValue, kMeanRho, kCount };

  torch::Tensor total;
  torch::Tensor values;  // float32 [kCount]

  // `values` (or a sum of them) on the host: a synchronisation with the device.
  static LossValues Read(const torch::Tensor& values);
  LossValues Read() const { return Read(values); }
};

// The model's outputs over a batch, from one forward pass over every step and the bootstrap
// state.
struct BatchForward {
  torch::Tensor scores;            // [T * N, C]
  torch::Tensor values;            // [T, N]
  torch::Tensor bootstrap_values;  // [N]
  torch::Tensor log_probs;         // [T, N]: log-probability of the batch's slates now
  torch::Tensor entropy;           // scalar: mean first-choice entropy
};
// With the transformer encoder and the batch's distinct impressions indexed, the history
// goes through EncodeDistinctHistory; otherwise the model's own forward pass.
BatchForward ForwardBatch(common::PolicyModel& model, const Batch& batch, double temperature);

// The transformer's user vectors [T * N + N, D] of `input` (AllStates(batch)) from keys and
// values computed once per distinct impression of `batch` (IndexDistinctHistory): equal to the
// full recompute, at a fraction of its cost when consecutive steps share most entries.
torch::Tensor EncodeDistinctHistory(common::PolicyModel& model, const Batch& batch,
                                    const common::PolicyInput& input);

// The loss from its policy and value terms and the entropy bonus, weighted by `options`,
// with `values` filled in (mean_rho from `mean_rho` when defined, else 0).
LossTerms CombineLoss(const torch::Tensor& policy_loss, const torch::Tensor& value_loss,
                      const BatchForward& forward, const LossOptions& options,
                      const torch::Tensor& mean_rho = {});

// Discounted returns within the unroll, bootstrapped from `bootstrap_values` after the last
// step and cut where a session ended: G_t = r_t + discount * (1 - done_t) * G_{t+1}.
// rewards, dones: [T, N]; bootstrap_values: [N]. Returns [T, N], without gradient.
torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& dones,
                                const torch::Tensor& bootstrap_values, double discount);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_LOSS_H_
