#include "learner/train/pg_loss.h"

namespace rlrec::learner {

LossTerms PolicyGradientLoss(common::PolicyModel& model, const Batch& batch,
                             const LossOptions& options) {
  BatchForward f = ForwardBatch(model, batch, options.temperature);
  auto returns =
      DiscountedReturns(batch.rewards, batch.dones, f.bootstrap_values, options.discount);
  auto advantages = (returns - f.values).detach();
  auto policy_loss = -(f.log_probs * advantages).mean();
  auto value_loss = 0.5 * (returns - f.values).pow(2).mean();
  return CombineLoss(policy_loss, value_loss, f, options);
}

}  // namespace rlrec::learner
