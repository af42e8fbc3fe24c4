#ifndef RLREC_LEARNER_RANKS_COLLECTIVE_H_
#define RLREC_LEARNER_RANKS_COLLECTIVE_H_

#include <torch/torch.h>

#include <memory>
#include <string>

#include "learner/ranks/mpi_world.h"

namespace rlrec::learner {

// The collectives data-parallel training needs over the learner ranks, for tensors on one
// device. Backends: MPI (CPU tensors) and NCCL (CUDA tensors). Every call is made by every
// rank in the same order; each waits at most the timeout it was built with and throws
// Error(kUnavailable) at that deadline, Error(kInternal) on a failed MPI/NCCL/CUDA call.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual std::string backend() const = 0;  // "mpi" or "nccl"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums `buffer` (contiguous float32 on this backend's device) across ranks, in place.
  virtual void AllReduceSum(torch::Tensor& buffer) = 0;
  // Copies `buffer` (contiguous, this backend's device) from rank `root` to every rank.
  virtual void Broadcast(torch::Tensor& buffer, int root) = 0;
  // Every rank reports at rank 0 before a round of all-reduces (MpiWorld::CheckIn): rank 0
  // throws RanksLost naming the ranks missing past the timeout, rather than waiting inside an
  // all-reduce that cannot name them (or, blocking, be interrupted).
  virtual void CheckIn() = 0;
};

// The backend for tensors on `device`: MPI for the CPU, NCCL for CUDA (one GPU per rank,
// chosen by the rank on its host; the NCCL unique id goes from rank 0 to all by MPI_Bcast).
// `world` must outlive the result. Throws Error(kInvalidInput) for CUDA when this build has
// no NCCL.
std::unique_ptr<Collective> MakeCollective(const MpiWorld& world, torch::Device device,
                                           double timeout_s);

// Whether this build has the NCCL backend.
bool HasNccl();

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_RANKS_COLLECTIVE_H_
