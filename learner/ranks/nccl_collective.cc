// The NCCL backend of Collective: compiled only when CMake finds NCCL and the CUDA runtime
// (RLREC_WITH_NCCL).
#include <cuda_runtime.h>
#include <nccl.h>

#include <thread>

#include "common/base/deadline.h"
#include "common/base/error.h"
#include "learner/ranks/collective.h"

namespace rlrec::learner {
namespace {

void CheckCuda(cudaError_t code, const char* what) {
  if (code != cudaSuccess) {
    throw common::Internal(std::string(what) + " failed: " + cudaGetErrorString(code));
  }
}

void CheckNccl(ncclResult_t code, const char* what) {
  if (code != ncclSuccess && code != ncclInProgress) {
    throw common::Internal(std::string(what) + " failed: " + ncclGetErrorString(code));
  }
}

// NCCL on the device of this rank (its rank on the host, modulo the devices there), in
// non-blocking mode so that every wait has a deadline; operations run on the legacy default
// stream, after whatever LibTorch queued there.
class NcclCollective : public Collective {
 public:
  NcclCollective(const MpiWorld& world, double timeout_s)
      : world_(world), rank_(world.rank()), size_(world.size()), timeout_s_(timeout_s) {
    int devices = 0;
    CheckCuda(cudaGetDeviceCount(&devices), "cudaGetDeviceCount");
    if (devices == 0) throw common::InvalidInput("the NCCL backend found no CUDA device");
    device_ = world.local_rank() % devices;
    CheckCuda(cudaSetDevice(device_), "cudaSetDevice");
    ncclUniqueId id;
    if (rank_ == 0) CheckNccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    world.Broadcast(&id, sizeof(id), 0, timeout_s);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    CheckNccl(ncclCommInitRankConfig(&comm_, size_, id, rank_, &config), "ncclCommInitRankConfig");
    WaitForComm("ncclCommInitRankConfig");
  }

  ~NcclCollective() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  std::string backend() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void AllReduceSum(torch::Tensor& buffer) override {
    Check(buffer);
    TORCH_CHECK(buffer.scalar_type() == torch::kFloat, "all-reduce of a non-float32 tensor");
    CheckNccl(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), buffer.numel(), ncclFloat,
                            ncclSum, comm_, cudaStreamLegacy),
              "ncclAllReduce");
    WaitForStream("ncclAllReduce");
  }

  void Broadcast(torch::Tensor& buffer, int root) override {
    Check(buffer);
    CheckNccl(ncclBroadcast(buffer.data_ptr(), buffer.data_ptr(), buffer.nbytes(), ncclChar, root,
                            comm_, cudaStreamLegacy),
              "ncclBroadcast");
    WaitForStream("ncclBroadcast");
  }

  void CheckIn() override { world_.CheckIn({}, timeout_s_); }

 private:
  void Check(const torch::Tensor& buffer) const {
    TORCH_CHECK(
        buffer.device().is_cuda() && buffer.device().index() == device_ && buffer.is_contiguous(),
        "the NCCL backend takes contiguous tensors on cuda:", device_, ", got ", buffer.device());
  }

  // Polls until the communicator has finished its queued calls.
  void WaitForComm(const char* what) {
    const common::Deadline deadline = common::After(timeout_s_);
    ncclResult_t state = ncclInProgress;
    while (true) {
      CheckNccl(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
      CheckNccl(state, what);
      if (state == ncclSuccess) return;
      Expire(deadline, what);
      std::this_thread::yield();
    }
  }

  // Polls until the stream has run the operation (or NCCL reports an error).
  void WaitForStream(const char* what) {
    WaitForComm(what);
    const common::Deadline deadline = common::After(timeout_s_);
    while (true) {
      const cudaError_t status = cudaStreamQuery(cudaStreamLegacy);
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) CheckCuda(status, what);
      ncclResult_t state = ncclSuccess;
      CheckNccl(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
      CheckNccl(state, what);
      Expire(deadline, what);
      std::this_thread::yield();
    }
  }

  void Expire(common::Deadline deadline, const char* what) {
    if (common::Clock::now() < deadline) return;
    ncclCommAbort(comm_);
    comm_ = nullptr;
    throw common::Unavailable(std::string(what) + " did not complete within " +
                              std::to_string(timeout_s_) +
                              " s: another learner rank is stuck or gone");
  }

  const MpiWorld& world_;
  int rank_, size_, device_ = 0;
  double timeout_s_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

std::unique_ptr<Collective> MakeNcclCollective(const MpiWorld& world, double timeout_s) {
  return std::make_unique<NcclCollective>(world, timeout_s);
}

}  // namespace rlrec::learner
