#include "learner/train/vtrace.h"

namespace rlrec::learner {

VTraceTargets ComputeVTrace(const torch::Tensor& behaviour_log_probs,
                            const torch::Tensor& target_log_probs, const torch::Tensor& rewards,
                            const torch::Tensor& dones, const torch::Tensor& values,
                            const torch::Tensor& bootstrap_values, const LossOptions& options) {
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

LossTerms VTraceLoss(common::PolicyModel& model, const Batch& batch, const LossOptions& options) {
  BatchForward f = ForwardBatch(model, batch, options.temperature);
  VTraceTargets targets = ComputeVTrace(batch.behaviour_log_probs, f.log_probs, batch.rewards,
                                        batch.dones, f.values, f.bootstrap_values, options);
  auto policy_loss = -(f.log_probs * targets.pg_advantages).mean();
  auto value_loss = 0.5 * (targets.vs - f.values).pow(2).mean();
  return CombineLoss(policy_loss, value_loss, f, options, targets.rhos.mean());
}

}  // namespace rlrec::learner
