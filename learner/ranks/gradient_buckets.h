#ifndef RLREC_LEARNER_RANKS_GRADIENT_BUCKETS_H_
#define RLREC_LEARNER_RANKS_GRADIENT_BUCKETS_H_

#include <torch/torch.h>

#include <vector>

#include "learner/ranks/collective.h"

namespace rlrec::learner {

// The gradients of a model's parameters laid out as views into a few flat buffers of at most
// `bucket_bytes` each (a parameter larger than that gets a bucket of its own), so that
// averaging them across ranks is one in-place all-reduce per bucket and nothing is copied.
// Backward accumulates into the views; ZeroGrad clears the buffers. The caller scales its
// loss by 1 / world size, so the sum of the ranks' gradients is their average.
//
// Sparse tables (item tables whose gradients are sparse COO rows) stay out of the buckets:
// across ranks they are combined by an all-gather of the touched rows (ids and values, every
// rank's in rank order, built from one broadcast per rank over the same Collective, MPI or
// NCCL), then summed row by row in the same order on every rank, so the ranks stay
// bit-identical and nothing the size of a table crosses the wire. Not thread-safe.
class GradientBuckets {
 public:
  GradientBuckets(const std::vector<torch::Tensor>& parameters, size_t bucket_bytes,
                  const std::vector<torch::Tensor>& sparse_tables = {});

  // Sets every gradient to zero (use instead of the optimiser's zero_grad, which may drop
  // the views); the sparse tables' gradients become undefined (no row touched).
  void ZeroGrad();
  // Sets every gradient to NaN: a rank whose update failed poisons the all-reduced sum, so
  // that every rank skips that update alike (its sparse tables contribute no rows).
  void Poison();
  // Adds 0 x `scalar` (this rank's loss) to one gradient element, on the device: a non-finite
  // loss makes the gradients non-finite on every rank after AllReduce, without waiting for
  // the device to learn whether it is.
  void Taint(const torch::Tensor& scalar);
  // Sums every bucket across the ranks of `collective`, in place, after a check-in (so that a
  // lost rank is named, Collective::CheckIn), then all-gathers the sparse tables' rows. A
  // gradient that is no longer a view (something replaced it) is copied in and the view
  // restored first.
  void AllReduce(Collective& collective);
  // Sums the repeated rows of each sparse table's gradient (one rank; AllReduce does it too).
  void CoalesceTables();
  // Rows of sparse tables in the gradients as they stand (after AllReduce: of every rank).
  int64_t TouchedRows() const;

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
  void ClearTables();
  void GatherTable(Collective& collective, torch::Tensor& table);
  std::vector<torch::Tensor> buckets_;
  std::vector<Slot> slots_;
  std::vector<torch::Tensor> tables_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_RANKS_GRADIENT_BUCKETS_H_
