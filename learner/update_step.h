#ifndef RLREC_LEARNER_UPDATE_STEP_H_
#define RLREC_LEARNER_UPDATE_STEP_H_

#include <torch/torch.h>

#include <string>

#include "common/config.h"
#include "common/policy_model.h"
#include "learner/batch.h"
#include "learner/collective.h"
#include "learner/gradient_buckets.h"
#include "learner/pg_loss.h"
#include "learner/topk_reinforce.h"
#include "learner/vtrace.h"

namespace rlrec::learner {

// The training objective and its settings (learner.objective and the keys it reads).
struct Objective {
  std::string name = "vtrace";  // vtrace, topk_reinforce or pg
  PgLossOptions pg;
  VTraceOptions vtrace;
  TopKReinforceOptions topk;
  double max_grad_norm = 40;  // 0: no clipping

  static Objective FromConfig(const common::RunConfig& config);
};

// One optimiser step of data-parallel training on this rank's `batch`: the objective's loss,
// backward scaled by 1 / (ranks of `collective`; 1 without one) into `gradients`, the
// all-reduce of the gradient buckets (so every rank holds the average gradient), gradient-norm
// clipping and the optimiser step. Every rank calls it once per update. Returns the loss
// terms of this rank's batch (unscaled); `mean_rho` gets V-trace's mean clipped importance
// weight (0 for the other objectives).
LossTerms UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                     GradientBuckets& gradients, Collective* collective, const Batch& batch,
                     const Objective& objective, double* mean_rho);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_UPDATE_STEP_H_
