#ifndef RLREC_LEARNER_PG_LOSS_H_
#define RLREC_LEARNER_PG_LOSS_H_

#include <torch/torch.h>

#include "common/policy_model.h"
#include "learner/batch.h"

namespace rlrec::learner {

// Settings of the policy-gradient loss.
struct PgLossOptions {
  double discount = 0.95;
  double value_coef = 0.5;
  double entropy_coef = 0.01;
  double temperature = 1.0;
};

// The loss of one batch and its terms (scalars; `total` carries the gradient).
struct LossTerms {
  torch::Tensor total;
  double policy_loss = 0;
  double value_loss = 0;
  double entropy = 0;
  double mean_value = 0;
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
BatchForward ForwardBatch(common::PolicyModel& model, const Batch& batch, double temperature);

// The loss from its three terms and their weights, with the scalars filled in.
LossTerms CombineLoss(const torch::Tensor& policy_loss, const torch::Tensor& value_loss,
                      const BatchForward& forward, double value_coef, double entropy_coef);

// Discounted returns within the unroll, bootstrapped from `bootstrap_values` after the last
// step and cut where a session ended: G_t = r_t + discount * (1 - done_t) * G_{t+1}.
// rewards, dones: [T, N]; bootstrap_values: [N]. Returns [T, N], without gradient.
torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& dones,
                                const torch::Tensor& bootstrap_values, double discount);

// Policy gradient with a learned value baseline (advantage G_t - V(s_t)), a value
// regression loss and an entropy bonus. On-policy: the slate log-probability is the current
// policy's; the behaviour's is not used (V-trace comes with the learning issue).
LossTerms PolicyGradientLoss(common::PolicyModel& model, const Batch& batch,
                             const PgLossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_PG_LOSS_H_
