#ifndef RLREC_LEARNER_TRAIN_TRAINER_H_
#define RLREC_LEARNER_TRAIN_TRAINER_H_

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config_keys.h"
#include "common/model/policy_model.h"
#include "common/wire/weights_codec.h"
#include "learner/ranks/collective.h"
#include "learner/ranks/gradient_buckets.h"
#include "learner/ranks/mpi_world.h"
#include "learner/train/batch.h"
#include "learner/train/checkpoint.h"
#include "learner/train/loss.h"
#include "learner/train/policy_optimizer.h"
#include "learner/train/update_step.h"

namespace rlrec::learner {

// The policy a learner rank trains and everything that updates it: the device, the model,
// its optimiser (PolicyOptimizer: Adam, and row-wise Adagrad on sparse item tables), the
// gradient buckets and, with several ranks, the collective that
// averages gradients so every rank holds the same parameters. Not thread-safe.
class Trainer {
 public:
  // Builds the model `config` describes on this rank's device (learner.device; with cuda,
  // the GPU of the rank's place on its host), from the LibTorch seed as it stands; with
  // several ranks, every rank starts from the lead's parameters. Throws Error(kInvalidInput)
  // for cuda when LibTorch sees no CUDA device. `world` must outlive this object.
  Trainer(const common::RunConfig& config, const MpiWorld& world);

  // One update on this rank's `batch` (UpdateStep): every rank calls it once per update. An
  // update that fails or meets a non-finite value is skipped on every rank and leaves the
  // parameters as they were (GuardedUpdate).
  UpdateResult Update(const Batch& batch);

  // This rank's part in an update it has no batch for (its batch could not be made: `why`):
  // skipped on every rank alike, as a failing loss is.
  UpdateResult Fail(const std::string& why);

  // The current parameters as a full weight snapshot of run `run_id` at `version`; the rows
  // of sparse tables changed so far count as published.
  std::shared_ptr<common::SnapshotBlob> Snapshot(const std::string& run_id, uint64_t version,
                                                 std::shared_ptr<common::SnapshotBlob> reuse = {});
  // What the lead publishes at `version`, the one after the version it published last. With
  // sparse tables: a delta on version - 1 (the dense parameters and the table rows changed
  // since that version) and, when `full` or at version 1, then a full snapshot as well, the
  // delta carrying the full state's checksum (a verification point for receivers that rebuild
  // from deltas). Without sparse tables: a full snapshot. A full snapshot is written into
  // what `memory` gives, when given, asked only when one is made (SnapshotFromModel's `reuse`).
  std::vector<std::shared_ptr<const common::SnapshotBlob>> SnapshotsToPublish(
      const std::string& run_id, uint64_t version, bool full,
      const std::function<std::shared_ptr<common::SnapshotBlob>()>& memory = nullptr);

  // Writes a checkpoint (model, optimiser, `counters`, `config_ini`) to `path`. Throws
  // Error(kInternal), writing nothing, when a parameter is not finite: a checkpoint is never
  // poisoned.
  void Save(const std::string& path, const TrainingCounters& counters,
            const std::string& config_ini);
  // Loads the newest checkpoint of `dir` that loads (LoadNewestCheckpoint).
  Resumed Resume(const std::string& dir);

  torch::Device device() const { return device_; }
  // "device cpu", with ", gradients over mpi" when ranks average gradients.
  std::string Describe() const;
  common::PolicyModel& model() { return model_; }

 private:
  torch::Device device_;
  common::PolicyModel model_;
  std::unique_ptr<Collective> collective_;  // null for one rank
  GradientBuckets gradients_;
  PolicyOptimizer optimizer_;
  LossOptions loss_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_TRAINER_H_
