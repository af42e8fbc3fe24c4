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

LossTerms PolicyGradientLoss(common::PolicyModel& model, const Batch& batch,
                             const PgLossOptions& options) {
  const int64_t T = batch.observations.size(0), N = batch.observations.size(1);
  const int64_t R = batch.observations.size(2), F = batch.observations.size(3);
  // One forward pass over every step and the bootstrap state.
  auto states =
      torch::cat({batch.observations.reshape({T * N, R, F}), batch.bootstrap_observation}, 0);
  auto out = model->Forward(states);
  auto scores = out.scores.narrow(0, 0, T * N);
  auto values = out.values.narrow(0, 0, T * N).view({T, N});
  auto bootstrap_values = out.values.narrow(0, T * N, N);

  auto returns = DiscountedReturns(batch.rewards, batch.dones, bootstrap_values, options.discount);
  auto advantages = (returns - values).detach();
  auto log_probs =
      common::SlateLogProb(scores, batch.slates.reshape({T * N, -1}), options.temperature)
          .view({T, N});
  auto policy_loss = -(log_probs * advantages).mean();
  auto value_loss = 0.5 * (returns - values).pow(2).mean();
  auto entropy = common::FirstChoiceEntropy(scores, options.temperature).mean();

  LossTerms terms;
  terms.total = policy_loss + options.value_coef * value_loss - options.entropy_coef * entropy;
  terms.policy_loss = policy_loss.item<double>();
  terms.value_loss = value_loss.item<double>();
  terms.entropy = entropy.item<double>();
  terms.mean_value = values.mean().item<double>();
  return terms;
}

}  // namespace rlrec::learner
