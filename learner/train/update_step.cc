#include "learner/train/update_step.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <exception>

#include "learner/train/objective.h"
#include "learner/train/policy_optimizer.h"

namespace rlrec::learner {
namespace {

// The L2 norm of every parameter's gradient together, as clip_grad_norm_ computes it (NaN or
// inf if any element is), a float scalar on their device.
torch::Tensor GradientNorm(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    // A sparse table's gradient is coalesced first (GradientBuckets), so its values hold
    // each row once.
    norms.push_back(g.is_sparse() ? g._values().norm() : g.norm());
  }
  return norms.empty() ? torch::zeros({}) : torch::stack(norms).norm();
}

// Every gradient made finite (non-finite elements set to 0) and multiplied by `scale`.
void ScaleGradients(const std::vector<torch::Tensor>& parameters, const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (g.defined()) (g.is_sparse() ? g._values() : g).nan_to_num_(0, 0, 0).mul_(scale);
  }
}

// The first line of an error message, for a log line.
std::string FirstLine(const char* what) {
  std::string s = what;
  return s.substr(0, s.find('\n'));
}

}  // namespace

bool UpdateResult::Applied() const {
  return failure.empty() && applied.defined() && applied.item<bool>();
}

std::string UpdateResult::SkipReason() const {
  if (!failure.empty()) return "the update failed: " + failure;
  if (Applied()) return "";
  const double total = terms.values.defined() ? terms.Read().total : std::nan("");
  if (!std::isfinite(total)) return "the loss is " + std::to_string(total);
  return "the gradient norm is " + std::to_string(gradient_norm.item<double>()) +
         (ranks > 1 ? " (on this rank or another)" : "");
}

UpdateResult GuardedUpdate(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                           GradientBuckets& gradients, Collective* collective,
                           const std::function<LossTerms()>& loss, double max_grad_norm) {
  UpdateResult result;
  gradients.ZeroGrad();
  result.ranks = collective ? collective->size() : 1;
  try {
    result.terms = loss();
    // Scaled so that the sum over ranks of the gradients is their average. A non-finite loss
    // taints the gradients, found with the norm below: no wait for the device here.
    (result.ranks > 1 ? result.terms.total / result.ranks : result.terms.total).backward();
    gradients.Taint(result.terms.total);
  } catch (const std::exception& e) {
    result.failure = FirstLine(e.what());
    gradients.Poison();
  }
  if (collective && result.ranks > 1) gradients.AllReduce(*collective);
  gradients.CoalesceTables();

  torch::NoGradGuard no_grad;
  const auto parameters = model->parameters();
  result.gradient_norm = GradientNorm(parameters);
  if (!parameters.empty()) result.gradient_norm = result.gradient_norm.to(parameters[0].device());
  result.applied = torch::isfinite(result.gradient_norm);
  // As torch::nn::utils::clip_grad_norm_ scales; 0 where the step is not taken.
  auto scale = torch::ones_like(result.gradient_norm);
  if (max_grad_norm > 0) {
    scale = torch::where(result.gradient_norm > max_grad_norm,
                         max_grad_norm / (result.gradient_norm + 1e-6), scale);
  }
  ScaleGradients(parameters, torch::where(result.applied, scale, torch::zeros_like(scale)));
  if (auto* policy = dynamic_cast<PolicyOptimizer*>(&optimizer)) {
    policy->StepIf(result.applied);
  } else if (result.applied.item<bool>()) {
    optimizer.step();
  }
  return result;
}

CudaBf16Autocast::CudaBf16Autocast() : was_enabled_(at::autocast::is_enabled()) {
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
  at::autocast::increment_nesting();
}

CudaBf16Autocast::~CudaBf16Autocast() {
  // The casts of the weights are cached for one forward pass only.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_enabled(was_enabled_);
}

LossTerms PrecisionLoss(common::PolicyModel& model, const Batch& batch,
                        const LossOptions& options) {
  if (!options.autocast_bf16) return ObjectiveLoss(model, batch, options);
  LossTerms terms;
  {
    CudaBf16Autocast autocast;
    terms = ObjectiveLoss(model, batch, options);
  }
  terms.total = terms.total.to(torch::kFloat);
  return terms;
}

UpdateResult UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                        GradientBuckets& gradients, Collective* collective, const Batch& batch,
                        const LossOptions& options) {
  return GuardedUpdate(
      model, optimizer, gradients, collective, [&] { return PrecisionLoss(model, batch, options); },
      options.max_grad_norm);
}

}  // namespace rlrec::learner
