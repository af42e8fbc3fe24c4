#ifndef RLREC_LEARNER_UPDATE_STEP_H_
#define RLREC_LEARNER_UPDATE_STEP_H_

#include <torch/torch.h>

#include "common/policy_model.h"
#include "learner/batch.h"
#include "learner/collective.h"
#include "learner/gradient_buckets.h"
#include "learner/loss.h"

namespace rlrec::learner {

// One optimiser step of data-parallel training on this rank's `batch`: the loss of
// options.objective, backward scaled by 1 / (ranks of `collective`; 1 without one) into
// `gradients`, the all-reduce of the gradient buckets (so every rank holds the average
// gradient), gradient-norm clipping at options.max_grad_norm and the optimiser step. Every
// rank calls it once per update. Returns the loss terms of this rank's batch (unscaled).
LossTerms UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                     GradientBuckets& gradients, Collective* collective, const Batch& batch,
                     const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_UPDATE_STEP_H_
