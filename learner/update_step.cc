#include "learner/update_step.h"

namespace rlrec::learner {

LossTerms UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                     GradientBuckets& gradients, Collective* collective, const Batch& batch,
                     const LossOptions& options) {
  LossTerms terms = ObjectiveLoss(model, batch, options);
  gradients.ZeroGrad();
  const int ranks = collective ? collective->size() : 1;
  // Scaled so that the sum over ranks of the gradients is their average.
  (ranks > 1 ? terms.total / ranks : terms.total).backward();
  if (collective && ranks > 1) gradients.AllReduce(*collective);
  if (options.max_grad_norm > 0) {
    torch::nn::utils::clip_grad_norm_(model->parameters(), options.max_grad_norm);
  }
  optimizer.step();
  return terms;
}

}  // namespace rlrec::learner
