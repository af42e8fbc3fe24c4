#ifndef RLREC_LEARNER_TRAIN_VTRACE_H_
#define RLREC_LEARNER_TRAIN_VTRACE_H_

#include <torch/torch.h>

#include "common/model/policy_model.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// V-trace targets of one batch, all [T, N] and without gradient.
struct VTraceTargets {
  torch::Tensor vs;             // value targets v_s
  torch::Tensor pg_advantages;  // rho_s (r_s + gamma_s v_{s+1} - V(x_s))
  torch::Tensor rhos;           // clipped importance weights min(rho_bar, pi / mu)
};

// Computes V-trace targets from log-probabilities of the taken slates under the behaviour
// (mu) and target (pi) policies, rewards, done flags, the values V(x_s) and the bootstrap
// value V(x_T), with gamma_s = discount * (1 - done_s), so a session that ends inside the
// unroll cuts the traces:
//   delta_s = rho_s (r_s + gamma_s V(x_{s+1}) - V(x_s)),
//   v_s - V(x_s) = delta_s + gamma_s c_s (v_{s+1} - V(x_{s+1})),  v_T = V(x_T),
// with rho_s = min(rho_bar, pi/mu), c_s = min(c_bar, pi/mu) (gamma, rho_bar and c_bar from
// `options`). Inputs are [T, N] ([N] for the bootstrap); every input is detached.
VTraceTargets ComputeVTrace(const torch::Tensor& behaviour_log_probs,
                            const torch::Tensor& target_log_probs, const torch::Tensor& rewards,
                            const torch::Tensor& dones, const torch::Tensor& values,
                            const torch::Tensor& bootstrap_values, const LossOptions& options);

// The IMPALA loss of a batch (learner.objective = vtrace): -mean(pg_advantage * log
// pi(slate)) + value_coef * 0.5 * mean((v_s - V(x_s))^2) - entropy_coef * entropy. Corrects
// for the policy lag of the batch through the importance weights; their clipped mean is the
// terms' mean_rho.
LossTerms VTraceLoss(common::PolicyModel& model, const Batch& batch, const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_VTRACE_H_
