#ifndef RLREC_LEARNER_TRAIN_UPDATE_STEP_H_
#define RLREC_LEARNER_TRAIN_UPDATE_STEP_H_

#include <torch/torch.h>

#include <functional>
#include <string>

#include "common/model/policy_model.h"
#include "learner/ranks/collective.h"
#include "learner/ranks/gradient_buckets.h"
#include "learner/train/batch.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// What became of one update. Whether it was applied is decided on the device; reading it
// (Applied, SkipReason) waits for the device, so the learner's loop leaves that to reports.
struct UpdateResult {
  LossTerms terms;              // this rank's loss terms (unscaled); `values` undefined on failure
  torch::Tensor applied;        // bool scalar: false when skipped (parameters, optimiser unchanged)
  torch::Tensor gradient_norm;  // of the all-reduced gradient, before clipping
  std::string failure;          // not empty: this rank's loss or backward threw (why): skipped
  int ranks = 1;

  // Whether the step was taken (waits for the device).
  bool Applied() const;
  // Why it was not: this rank's failure, or the non-finite loss or gradient norm; "" when it
  // was taken (waits for the device).
  std::string SkipReason() const;
};

// One optimiser step of data-parallel training: `loss()` (this rank's loss on its batch),
// backward scaled by 1 / (ranks of `collective`; 1 without one) into `gradients`, the
// all-reduce of the gradient buckets (so every rank holds the average gradient), gradient-norm
// clipping at `max_grad_norm` (0: none) and the optimiser step. Every rank calls it once per
// update.
//
// Nothing inside can stop the learner or spoil its weights: when `loss()` or backward throws
// (a LibTorch error, bad_alloc) this rank fills its gradients with NaN, and a non-finite loss
// taints them, so that after the all-reduce every rank sees a non-finite gradient; a
// non-finite gradient norm skips the step on every rank alike, and the ranks stay identical.
// With a PolicyOptimizer that decision stays on the device (PolicyOptimizer::StepIf): the
// update queues its work and returns without waiting for it. Another optimiser is stepped
// after the host reads the decision.
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

// The loss of options.objective on `batch` at options' precision (under CudaBf16Autocast
// when options.autocast_bf16; `total` float32 either way).
LossTerms PrecisionLoss(common::PolicyModel& model, const Batch& batch, const LossOptions& options);

// GuardedUpdate of PrecisionLoss on `batch`.
UpdateResult UpdateStep(common::PolicyModel& model, torch::optim::Optimizer& optimizer,
                        GradientBuckets& gradients, Collective* collective, const Batch& batch,
                        const LossOptions& options);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_UPDATE_STEP_H_
