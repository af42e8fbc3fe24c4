#include "learner/ranks/collective.h"

#include "common/base/error.h"

namespace rlrec::learner {

#ifdef RLREC_WITH_NCCL
std::unique_ptr<Collective> MakeNcclCollective(const MpiWorld& world, double timeout_s);
bool HasNccl() { return true; }
#else
bool HasNccl() { return false; }
#endif

namespace {

class MpiCollective : public Collective {
 public:
  MpiCollective(const MpiWorld& world, double timeout_s) : world_(world), timeout_s_(timeout_s) {}
  std::string backend() const override { return "mpi"; }
  int rank() const override { return world_.rank(); }
  int size() const override { return world_.size(); }

  void AllReduceSum(torch::Tensor& buffer) override {
    Check(buffer);
    TORCH_CHECK(buffer.scalar_type() == torch::kFloat, "all-reduce of a non-float32 tensor");
    world_.AllReduceSum(buffer.data_ptr<float>(), static_cast<size_t>(buffer.numel()), timeout_s_);
  }

  void Broadcast(torch::Tensor& buffer, int root) override {
    Check(buffer);
    world_.Broadcast(buffer.data_ptr(), buffer.nbytes(), root, timeout_s_);
  }

  void CheckIn() override { world_.CheckIn({}, timeout_s_); }

 private:
  static void Check(const torch::Tensor& buffer) {
    TORCH_CHECK(buffer.device().is_cpu() && buffer.is_contiguous(),
                "the MPI backend takes contiguous CPU tensors, got ", buffer.device());
  }
  const MpiWorld& world_;
  double timeout_s_;
};

}  // namespace

std::unique_ptr<Collective> MakeCollective(const MpiWorld& world, torch::Device device,
                                           double timeout_s) {
  if (device.is_cpu()) return std::make_unique<MpiCollective>(world, timeout_s);
#ifdef RLREC_WITH_NCCL
  return MakeNcclCollective(world, timeout_s);
#else
  throw common::InvalidInput(
      "learner.device = cuda needs the NCCL backend, and this build has none (NCCL and CUDA "
      "were not found when it was configured)");
#endif
}

}  // namespace rlrec::learner
