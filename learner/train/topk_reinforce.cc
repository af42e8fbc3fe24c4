#include "learner/train/topk_reinforce.h"

namespace rlrec::learner {

torch::Tensor TopKReinforcePolicyLoss(const torch::Tensor& scores, const torch::Tensor& slates,
                                      const torch::Tensor& behaviour_log_probs,
                                      const torch::Tensor& advantages, double temperature,
                                      double importance_cap) {
  const int64_t k = slates.size(1);
  auto log_p = torch::log_softmax(scores / temperature, /*dim=*/1);
  auto chosen_log_p = log_p.gather(1, slates);  // [M, K]
  torch::Tensor weights, lambdas;
  {
    torch::NoGradGuard no_grad;
    auto slate_log_prob = common::SlateLogProb(scores, slates, temperature);
    weights = (slate_log_prob - behaviour_log_probs).exp().clamp_max(importance_cap);
    lambdas = k * (1.0 - chosen_log_p.exp()).pow(static_cast<double>(k - 1));
  }
  auto per_state = (lambdas * chosen_log_p).sum(1);
  return -(weights * advantages.detach() * per_state).mean();
}

LossTerms TopKReinforceLoss(common::PolicyModel& model, const Batch& batch,
                            const LossOptions& options) {
  BatchForward f = ForwardBatch(model, batch, options.temperature);
  auto returns =
      DiscountedReturns(batch.rewards, batch.dones, f.bootstrap_values, options.discount);
  auto advantages = (returns - f.values).detach().reshape({-1});
  auto policy_loss = TopKReinforcePolicyLoss(f.scores, batch.slates.reshape({f.scores.size(0), -1}),
                                             batch.behaviour_log_probs.reshape({-1}), advantages,
                                             options.temperature, options.importance_cap);
  auto value_loss = 0.5 * (returns - f.values).pow(2).mean();
  return CombineLoss(policy_loss, value_loss, f, options);
}

}  // namespace rlrec::learner
