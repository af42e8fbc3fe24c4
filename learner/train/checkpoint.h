#ifndef RLREC_LEARNER_TRAIN_CHECKPOINT_H_
#define RLREC_LEARNER_TRAIN_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rlrec::learner {

// Counters saved with the model.
struct TrainingCounters {
  uint64_t updates = 0;
  uint64_t env_steps = 0;
  uint64_t snapshot_version = 0;
  // The lead's: ids of the actors admitted so far (ActorHealth::admitted), so that a resumed
  // run's actors_seen goes on from them. Empty in checkpoints of older rlrec.
  std::vector<uint32_t> actors_seen = {};
};

// What a checkpoint restores besides the model and the optimiser.
struct CheckpointContents {
  TrainingCounters counters;
  std::string config_ini;  // the effective configuration of the run that wrote it
};

// Writes model, optimiser state, counters, the LibTorch CPU random state and `config_ini` to
// `path` as a verified checkpoint file (common/model/checkpoint_file.h: atomic, checksummed,
// schema-versioned). Throws Error(kUnavailable) when it cannot write.
void SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                    torch::optim::Optimizer& optimizer, const TrainingCounters& counters,
                    const std::string& config_ini);

// Reads a checkpoint written by SaveCheckpoint into `model` and `optimizer` and restores the
// random state. Throws Error(kInvalidInput) naming `path` and the problem (unreadable,
// truncated, corrupted, another schema, a model of another shape); `model` and `optimizer`
// may then be partly overwritten, and a later successful load overwrites them whole.
CheckpointContents LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                  torch::optim::Optimizer& optimizer);

// Where the checkpoint after `updates` updates goes in `dir`: dir/ckpt-000000001234.pt.
std::string CheckpointPath(const std::string& dir, uint64_t updates);

// The checkpoints (ckpt-*.pt) in `dir`, newest (most updates) first.
std::vector<std::string> ListCheckpoints(const std::string& dir);

// Deletes all but the newest `keep` checkpoints of `dir`.
void PruneCheckpoints(const std::string& dir, int keep);

// The outcome of resuming from a folder of checkpoints.
struct Resumed {
  std::string path;  // the checkpoint loaded
  CheckpointContents contents;
  std::vector<std::string> refused;  // newer checkpoints that did not load, and why
};

// Loads the newest checkpoint of `dir` that loads, skipping (and reporting in `refused`)
// those that do not. Throws Error(kInvalidInput) when there is none, or none loads (naming
// each and why): a run is never silently restarted from scratch.
Resumed LoadNewestCheckpoint(const std::string& dir, torch::nn::Module& model,
                             torch::optim::Optimizer& optimizer);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_CHECKPOINT_H_
