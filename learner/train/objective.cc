#include "learner/train/objective.h"

#include "learner/train/pg_loss.h"
#include "learner/train/topk_reinforce.h"
#include "learner/train/vtrace.h"

namespace rlrec::learner {

LossTerms ObjectiveLoss(common::PolicyModel& model, const Batch& batch,
                        const LossOptions& options) {
  switch (options.objective) {
    case common::Objective::kVTrace:
      return VTraceLoss(model, batch, options);
    case common::Objective::kTopKReinforce:
      return TopKReinforceLoss(model, batch, options);
    case common::Objective::kPolicyGradient:
      return PolicyGradientLoss(model, batch, options);
  }
  return PolicyGradientLoss(model, batch, options);
}

}  // namespace rlrec::learner
