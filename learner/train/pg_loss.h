#ifndef RLREC_LEARNER_TRAIN_PG_LOSS_H_
#define RLREC_LEARNER_TRAIN_PG_LOSS_H_

#include "common/model/policy_model.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// Policy gradient with a learned value baseline (advantage G_t - V(s_t)), a value
// regression loss and an entropy bonus (learner.objective = pg). On-policy: the slate
// log-probability is the current policy's; the behaviour's is not used, so policy lag goes
// uncorrected (vtrace.h corrects it).
LossTerms PolicyGradientLoss(common::PolicyModel& model, const Batch& batch,
                             const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_PG_LOSS_H_
