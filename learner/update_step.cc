#include "learner/update_step.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <exception>

namespace rlrec::learner {
namespace {

// The L2 norm of every parameter's gradient together, as clip_grad_norm_ computes it (NaN or
// inf if any element is).
double GradientNorm(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    // A sparse table's gradient is coalesced first (GradientBuckets), so its values hold
    // each row once.
    norms.push_back(g.is_sparse() ? g._values().norm() : g.norm());
  }
  return norms.empty() ? 0.0 : torch::stack(norms).norm().item<double>();
}

// The first line of an error message, for a log line.
std::string FirstLine(const char* what) {
  std::string s = what;
  return s.substr(0, s.find('\n'));
}

}  // namespace

UpdateResult GuardedUpdate(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                           GradientBuckets& gradients, Collective* collective,
                           const std::function<LossTerms()>& loss, double max_grad_norm) {
  UpdateResult result;
  gradients.ZeroGrad();
  const int ranks = collective ? collective->size() : 1;
  try {
    result.terms = loss();
    const double total = result.terms.total.item<double>();
    if (std::isfinite(total)) {
      // Scaled so that the sum over ranks of the gradients is their average.
      (ranks > 1 ? result.terms.total / ranks : result.terms.total).backward();
    } else {
      result.skip_reason = "the loss is " + std::to_string(total);
    }
  } catch (const std::exception& e) {
    result.skip_reason = "the update failed: " + FirstLine(e.what());
  }
  if (!result.skip_reason.empty()) gradients.Poison();
  if (collective && ranks > 1) gradients.AllReduce(*collective);
  gradients.CoalesceTables();
  const double norm = GradientNorm(model->parameters());
  if (!std::isfinite(norm)) {
    if (result.skip_reason.empty()) {
      result.skip_reason = "the gradient norm is " + std::to_string(norm) +
                           (ranks > 1 ? " (on this rank or another)" : "");
    }
    gradients.ZeroGrad();
    return result;
  }
  if (max_grad_norm > 0 && norm > max_grad_norm) {
    // As torch::nn::utils::clip_grad_norm_ scales.
    torch::NoGradGuard no_grad;
    const double scale = max_grad_norm / (norm + 1e-6);
    for (auto& p : model->parameters()) {
      const auto& g = p.grad();
      if (g.defined()) (g.is_sparse() ? g._values() : g).mul_(scale);
    }
  }
  optimizer.step();
  result.applied = true;
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

UpdateResult UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                        GradientBuckets& gradients, Collective* collective, const Batch& batch,
                        const LossOptions& options) {
  const auto loss = [&] {
    if (!options.autocast_bf16) return ObjectiveLoss(model, batch, options);
    LossTerms terms;
    {
      CudaBf16Autocast autocast;
      terms = ObjectiveLoss(model, batch, options);
    }
    terms.total = terms.total.to(torch::kFloat);
    return terms;
  };
  return GuardedUpdate(model, optimizer, gradients, collective, loss, options.max_grad_norm);
}

}  // namespace rlrec::learner
