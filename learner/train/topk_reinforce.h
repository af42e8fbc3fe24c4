#ifndef RLREC_LEARNER_TRAIN_TOPK_REINFORCE_H_
#define RLREC_LEARNER_TRAIN_TOPK_REINFORCE_H_

#include <torch/torch.h>

#include "common/model/policy_model.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// The policy term of REINFORCE with the top-K off-policy correction (Chen et al. 2019,
// "Top-K Off-Policy Correction for a REINFORCE Recommender System"), for M states:
//   -mean_m  w_m A_m  sum_k lambda(a_mk) log p(a_mk | s_m),
// where p = softmax(scores / temperature) is the single-item policy, lambda(a) =
// K (1 - p(a))^(K - 1) the top-K multiplier (a constant weight), and w_m =
// min(cap, exp(log pi(slate_m) - log mu(slate_m))) the capped importance weight of the
// slate under the current policy (Plackett-Luce) against the behaviour's. The advantages
// A (return minus the value baseline, a variance reduction Chen et al. leave out) and the
// weights carry no gradient. scores [M, C], slates int64 [M, K], behaviour_log_probs [M],
// advantages [M].
torch::Tensor TopKReinforcePolicyLoss(const torch::Tensor& scores, const torch::Tensor& slates,
                                      const torch::Tensor& behaviour_log_probs,
                                      const torch::Tensor& advantages, double temperature,
                                      double importance_cap);

// The whole loss of a batch (learner.objective = topk_reinforce): the policy term above with
// advantages G_t - V(s_t) from bootstrapped discounted returns, plus the value regression and the
// entropy bonus.
LossTerms TopKReinforceLoss(common::PolicyModel& model, const Batch& batch,
                            const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_TOPK_REINFORCE_H_
