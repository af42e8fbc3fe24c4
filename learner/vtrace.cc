#include "learner/vtrace.h"

namespace rlrec::learner {

VTraceTargets ComputeVTrace(const torch::Tensor& behaviour_log_probs,
                            const torch::Tensor& target_log_probs, const torch::Tensor& rewards,
                            const torch::Tensor& dones, const torch::Tensor& values,
                            const torch::Tensor& bootstrap_values, const VTraceOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t T = rewards.size(0);
  auto ratios = (target_log_probs.detach() - behaviour_log_probs).exp();
  auto rhos = ratios.clamp_max(options.rho_bar);
  auto cs = ratios.clamp_max(options.c_bar);
  auto discounts = options.discount * (1.0 - dones);
  auto v = values.detach();
  auto next_values = torch::cat({v.narrow(0, 1, T - 1), bootstrap_values.detach().unsqueeze(0)}, 0);
  auto deltas = rhos * (rewards + discounts * next_values - v);

  auto vs_minus_v = torch::empty_like(v);
  auto acc = torch::zeros_like(bootstrap_values);
  for (int64_t s = T - 1; s >= 0; --s) {
    acc = deltas[s] + discounts[s] * cs[s] * acc;
    vs_minus_v[s] = acc;
  }
  VTraceTargets targets;
  targets.vs = vs_minus_v + v;
  auto vs_next =
      torch::cat({targets.vs.narrow(0, 1, T - 1), bootstrap_values.detach().unsqueeze(0)}, 0);
  targets.pg_advantages = rhos * (rewards + discounts * vs_next - v);
  targets.rhos = rhos;
  return targets;
}

LossTerms VTraceLoss(common::PolicyModel& model, const Batch& batch, const VTraceOptions& options,
                     double* mean_rho) {
  const int64_t T = batch.observations.size(0), N = batch.observations.size(1);
  const int64_t R = batch.observations.size(2), F = batch.observations.size(3);
  auto states =
      torch::cat({batch.observations.reshape({T * N, R, F}), batch.bootstrap_observation}, 0);
  auto out = model->Forward(states);
  auto scores = out.scores.narrow(0, 0, T * N);
  auto values = out.values.narrow(0, 0, T * N).view({T, N});
  auto bootstrap_values = out.values.narrow(0, T * N, N);
  auto log_probs =
      common::SlateLogProb(scores, batch.slates.reshape({T * N, -1}), options.temperature)
          .view({T, N});
  VTraceTargets targets = ComputeVTrace(batch.behaviour_log_probs, log_probs, batch.rewards,
                                        batch.dones, values, bootstrap_values, options);
  auto policy_loss = -(log_probs * targets.pg_advantages).mean();
  auto value_loss = 0.5 * (targets.vs - values).pow(2).mean();
  auto entropy = common::FirstChoiceEntropy(scores, options.temperature).mean();
  LossTerms terms;
  terms.total = policy_loss + options.value_coef * value_loss - options.entropy_coef * entropy;
  terms.policy_loss = policy_loss.item<double>();
  terms.value_loss = value_loss.item<double>();
  terms.entropy = entropy.item<double>();
  terms.mean_value = values.mean().item<double>();
  if (mean_rho) *mean_rho = targets.rhos.mean().item<double>();
  return terms;
}

}  // namespace rlrec::learner
