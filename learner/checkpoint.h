#ifndef RLREC_LEARNER_CHECKPOINT_H_
#define RLREC_LEARNER_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace rlrec::learner {

// Counters saved with the model.
struct TrainingCounters {
  uint64_t updates = 0;
  uint64_t env_steps = 0;
  uint64_t snapshot_version = 0;
};

// Writes model, optimiser state and counters to `path` atomically: a temporary file in the
// same folder, flushed to disk, then renamed over `path`. A crash leaves the old file or
// the new one, never half of one. Throws Error(kUnavailable) when it cannot write.
void SaveCheckpoint(const std::string& path, torch::nn::Module& model,
                    torch::optim::Optimizer& optimizer, const TrainingCounters& counters);

// Reads a checkpoint written by SaveCheckpoint into `model` and `optimizer`; returns its
// counters. Throws Error(kInvalidInput) naming `path` when it cannot be read or does not fit.
TrainingCounters LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_CHECKPOINT_H_
