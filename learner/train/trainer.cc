#include "learner/train/trainer.h"

#include <algorithm>
#include <sstream>

#include "common/base/error.h"
#include "common/model/snapshot.h"
#include "common/wire/snapshot_delta.h"

namespace rlrec::learner {
namespace {

// Elements of a parameter checked for non-finite values at a time.
constexpr int64_t kFiniteCheckSlice = int64_t{1} << 20;

torch::Device DeviceOf(const common::RunConfig& config, const MpiWorld& world) {
  if (config.learner.device != common::Device::kCuda) return torch::kCPU;
  if (!torch::cuda::is_available()) {
    throw common::InvalidInput(
        "learner.device = cuda, but this LibTorch sees no CUDA device (a CPU build of "
        "LibTorch, or no GPU on this machine)");
  }
  // One GPU per rank: the rank's place among the ranks on its host.
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(world.local_rank() %
                                                                     torch::cuda::device_count()));
}

common::PolicyModel MakeModel(const common::RunConfig& config, torch::Device device) {
  common::PolicyModel model(common::ModelOptions(config));
  model->to(device);
  return model;
}

}  // namespace

Trainer::Trainer(const common::RunConfig& config, const MpiWorld& world)
    : device_(DeviceOf(config, world)),
      model_(MakeModel(config, device_)),
      collective_(world.size() > 1
                      ? MakeCollective(world, device_, config.learner.collective_timeout_s)
                      : nullptr),
      gradients_(model_->DenseParameters(),
                 static_cast<size_t>(config.learner.bucket_mib * 1024 * 1024),
                 model_->SparseTables()),
      optimizer_(model_->DenseParameters(), model_->SparseTables(), config.learner.learning_rate,
                 config.learner.table_learning_rate),
      loss_(config) {
  if (collective_) {
    // Every rank starts from the lead's parameters.
    torch::NoGradGuard no_grad;
    for (auto& p : model_->parameters()) collective_->Broadcast(p, 0);
  }
}

UpdateResult Trainer::Update(const Batch& batch) {
  return UpdateStep(model_, optimizer_, gradients_, collective_.get(), batch, loss_);
}

UpdateResult Trainer::Fail(const std::string& why) {
  return GuardedUpdate(
      model_, optimizer_, gradients_, collective_.get(),
      [&]() -> LossTerms { throw common::Internal("no batch: " + why); }, loss_.max_grad_norm);
}

std::shared_ptr<common::SnapshotBlob> Trainer::Snapshot(
    const std::string& run_id, uint64_t version, std::shared_ptr<common::SnapshotBlob> reuse) {
  optimizer_.TakeChangedRows();
  return common::SnapshotFromModel(*model_, run_id, version, std::move(reuse));
}

std::vector<std::shared_ptr<const common::SnapshotBlob>> Trainer::SnapshotsToPublish(
    const std::string& run_id, uint64_t version, bool full,
    const std::function<std::shared_ptr<common::SnapshotBlob>()>& memory) {
  const auto tables = model_->SparseTables();
  const auto reuse = [&] { return memory ? memory() : nullptr; };
  // Version 1 has no base to be a delta on (base version 0 means a full snapshot).
  if (tables.empty() || version <= 1) return {Snapshot(run_id, version, reuse())};
  const auto rows = optimizer_.TakeChangedRows();
  std::vector<common::ChangedRows> changed;
  for (size_t t = 0; t < tables.size(); ++t) changed.push_back({tables[t], rows[t]});
  auto delta = common::DeltaFromModel(*model_, run_id, version, version - 1, changed);
  if (!full) return {delta};
  auto whole = common::SnapshotFromModel(*model_, run_id, version, reuse());
  delta->state_checksum = common::StateChecksum(*whole);
  return {delta, whole};
}

void Trainer::Save(const std::string& path, const TrainingCounters& counters,
                   const std::string& config_ini) {
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : model_->named_parameters()) {
      // In slices: a check of a whole table at once would allocate temporaries its size.
      const auto flat = p.value().detach().reshape({-1});
      for (int64_t at = 0; at < flat.numel(); at += kFiniteCheckSlice) {
        const auto slice = flat.slice(0, at, std::min(flat.numel(), at + kFiniteCheckSlice));
        if (!torch::isfinite(slice).all().item<bool>()) {
          throw common::Internal("not writing checkpoint '" + path + "': parameter '" + p.key() +
                                 "' holds a non-finite value");
        }
      }
    }
  }
  SaveCheckpoint(path, *model_, optimizer_, counters, config_ini);
}

Resumed Trainer::Resume(const std::string& dir) {
  return LoadNewestCheckpoint(dir, *model_, optimizer_);
}

std::string Trainer::Describe() const {
  std::ostringstream s;
  s << "device " << device_;
  if (collective_) s << ", gradients over " << collective_->backend();
  return s.str();
}

}  // namespace rlrec::learner
