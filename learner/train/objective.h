#ifndef RLREC_LEARNER_TRAIN_OBJECTIVE_H_
#define RLREC_LEARNER_TRAIN_OBJECTIVE_H_

#include "common/model/policy_model.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// The loss of `options.objective` on `batch`: V-trace (vtrace.h), top-K REINFORCE
// (topk_reinforce.h) or the policy gradient (pg_loss.h), each built on loss.h's parts.
LossTerms ObjectiveLoss(common::PolicyModel& model, const Batch& batch, const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_OBJECTIVE_H_
