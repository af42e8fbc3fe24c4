#ifndef RLREC_LEARNER_UPDATE_STEP_H_
#define RLREC_LEARNER_UPDATE_STEP_H_

#include <torch/torch.h>

#include <functional>
#include <string>

#include "common/policy_model.h"
#include "learner/batch.h"
#include "learner/collective.h"
#include "learner/gradient_buckets.h"
#include "learner/loss.h"

namespace rlrec::learner {

// What became of one update.
struct UpdateResult {
  LossTerms terms;          // this rank's loss terms (unscaled); undefined when skipped
  bool applied = false;     // false: skipped, the parameters and optimiser state unchanged
  std::string skip_reason;  // why it was skipped (this rank's error, or a non-finite value)
};

// One optimiser step of data-parallel training: `loss()` (this rank's loss on its batch),
// backward scaled by 1 / (ranks of `collective`; 1 without one) into `gradients`, the
// all-reduce of the gradient buckets (so every rank holds the average gradient), gradient-norm
// clipping at `max_grad_norm` (0: none) and the optimiser step. Every rank calls it once per
// update.
//
// Nothing inside can stop the learner or spoil its weights: when `loss()` or backward throws
// (a LibTorch error, bad_alloc) or the loss is not finite, this rank fills its gradients with
// NaN, so that after the all-reduce every rank sees a non-finite gradient; a non-finite
// gradient norm skips the step on every rank alike, and the ranks stay identical.
UpdateResult GuardedUpdate(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                           GradientBuckets& gradients, Collective* collective,
                           const std::function<LossTerms()>& loss, double max_grad_norm);

// LibTorch's CUDA autocast to bfloat16 for the guard's lifetime (the C++ form of
// torch.autocast("cuda", torch.bfloat16)): what learner.precision = bf16 runs the forward
// pass and the loss under.
class CudaBf16Autocast {
 public:
  CudaBf16Autocast();
  ~CudaBf16Autocast();
  CudaBf16Autocast(const CudaBf16Autocast&) = delete;
  CudaBf16Autocast& operator=(const CudaBf16Autocast&) = delete;

 private:
  const bool was_enabled_;
};

// GuardedUpdate of the loss of options.objective on `batch`.
UpdateResult UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                        GradientBuckets& gradients, Collective* collective, const Batch& batch,
                        const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_UPDATE_STEP_H_
