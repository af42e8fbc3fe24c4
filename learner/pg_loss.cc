#include "learner/pg_loss.h"

namespace rlrec::learner {

torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& dones,
                                const torch::Tensor& bootstrap_values, double discount) {
  torch::NoGradGuard no_grad;
  const int64_t T = rewards.size(0);
  auto returns = torch::empty_like(rewards);
  auto next = bootstrap_values.detach();
  for (int64_t t = T - 1; t >= 0; --t) {
    next = rewards[t] + discount * (1.0 - dones[t]) * next;
    returns[t] = next;
  }
  return returns;
}

BatchForward ForwardBatch(common::PolicyModel& model, const Batch& batch, double temperature) {
  const int64_t T = batch.observations.size(0), N = batch.observations.size(1);
  auto out = model->Forward(AllStates(batch));
  BatchForward f;
  f.scores = out.scores.narrow(0, 0, T * N);
  f.values = out.values.narrow(0, 0, T * N).view({T, N});
  f.bootstrap_values = out.values.narrow(0, T * N, N);
  f.log_probs =
      common::SlateLogProb(f.scores, batch.slates.reshape({T * N, -1}), temperature).view({T, N});
  f.entropy = common::FirstChoiceEntropy(f.scores, temperature).mean();
  return f;
}

LossTerms CombineLoss(const torch::Tensor& policy_loss, const torch::Tensor& value_loss,
                      const BatchForward& forward, double value_coef, double entropy_coef) {
  LossTerms terms;
  terms.total = policy_loss + value_coef * value_loss - entropy_coef * forward.entropy;
  terms.policy_loss = policy_loss.item<double>();
  terms.value_loss = value_loss.item<double>();
  terms.entropy = forward.entropy.item<double>();
  terms.mean_value = forward.values.mean().item<double>();
  return terms;
}

LossTerms PolicyGradientLoss(common::PolicyModel& model, const Batch& batch,
                             const PgLossOptions& options) {
  BatchForward f = ForwardBatch(model, batch, options.temperature);
  auto returns =
      DiscountedReturns(batch.rewards, batch.dones, f.bootstrap_values, options.discount);
  auto advantages = (returns - f.values).detach();
  auto policy_loss = -(f.log_probs * advantages).mean();
  auto value_loss = 0.5 * (returns - f.values).pow(2).mean();
  return CombineLoss(policy_loss, value_loss, f, options.value_coef, options.entropy_coef);
}

}  // namespace rlrec::learner
