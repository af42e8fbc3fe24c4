#ifndef RLREC_LEARNER_GRADIENT_BUCKETS_H_
#define RLREC_LEARNER_GRADIENT_BUCKETS_H_

#include <torch/torch.h>

#include <vector>

#include "learner/collective.h"

namespace rlrec::learner {

// The gradients of a model's parameters laid out as views into a few flat buffers of at most
// `bucket_bytes` each (a parameter larger than that gets a bucket of its own), so that
// averaging them across ranks is one in-place all-reduce per bucket and nothing is copied.
// Backward accumulates into the views; ZeroGrad clears the buffers. The caller scales its
// loss by 1 / world size, so the sum of the ranks' gradients is their average. Not
// thread-safe.
class GradientBuckets {
 public:
  GradientBuckets(const std::vector<torch::Tensor>& parameters, size_t bucket_bytes);

  // Sets every gradient to zero (use instead of the optimiser's zero_grad, which may drop
  // the views).
  void ZeroGrad();
  // Sets every gradient to NaN: a rank whose update failed poisons the all-reduced sum, so
  // that every rank skips that update alike.
  void Poison();
  // Sums every bucket across the ranks of `collective`, in place, after a check-in (so that a
  // lost rank is named, Collective::CheckIn). A gradient that is no longer a view (something
  // replaced it) is copied in and the view restored first.
  void AllReduce(Collective& collective);

  size_t num_buckets() const { return buckets_.size(); }
  size_t bytes() const;

 private:
  struct Slot {
    torch::Tensor parameter;
    size_t bucket;
    int64_t offset;
  };
  void Bind(const Slot& slot);
  void Fill(double value);  // every bucket, every gradient a view of its bucket again
  std::vector<torch::Tensor> buckets_;
  std::vector<Slot> slots_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_GRADIENT_BUCKETS_H_
