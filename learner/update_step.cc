#include "learner/update_step.h"

namespace rlrec::learner {

Objective Objective::FromConfig(const common::RunConfig& config) {
  const auto& l = config.learner;
  Objective o;
  o.name = l.objective;
  o.pg = {l.discount, l.value_coef, l.entropy_coef, config.model.temperature};
  o.vtrace = {l.discount, l.value_coef, l.entropy_coef, config.model.temperature,
              l.rho_bar,  l.c_bar};
  o.topk = {l.discount, l.value_coef, l.entropy_coef, config.model.temperature, l.importance_cap};
  o.max_grad_norm = l.max_grad_norm;
  return o;
}

LossTerms UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                     GradientBuckets& gradients, Collective* collective, const Batch& batch,
                     const Objective& objective, double* mean_rho) {
  *mean_rho = 0;
  LossTerms terms =
      objective.name == "vtrace"           ? VTraceLoss(model, batch, objective.vtrace, mean_rho)
      : objective.name == "topk_reinforce" ? TopKReinforceLoss(model, batch, objective.topk)
                                           : PolicyGradientLoss(model, batch, objective.pg);
  gradients.ZeroGrad();
  const int ranks = collective ? collective->size() : 1;
  // Scaled so that the sum over ranks of the gradients is their average.
  (ranks > 1 ? terms.total / ranks : terms.total).backward();
  if (collective && ranks > 1) gradients.AllReduce(*collective);
  if (objective.max_grad_norm > 0) {
    torch::nn::utils::clip_grad_norm_(model->parameters(), objective.max_grad_norm);
  }
  optimizer.step();
  return terms;
}

}  // namespace rlrec::learner
