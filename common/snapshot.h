#ifndef RLREC_COMMON_SNAPSHOT_H_
#define RLREC_COMMON_SNAPSHOT_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/tensor_view.h"
#include "common/weights_codec.h"

namespace rlrec::common {

// Copies every parameter and buffer of `model` (on any device) into a new blob, in the
// module's registration order, tagged with `run_id` and `version`.
std::shared_ptr<SnapshotBlob> SnapshotFromModel(torch::nn::Module& model, const std::string& run_id,
                                                uint64_t version);

// The manifest a snapshot of `model` has: every parameter and buffer's name, dtype and shape,
// in the order SnapshotFromModel writes them. What a subscriber should accept (SnapshotRules).
std::vector<ParamSpec> ManifestOf(torch::nn::Module& model);

// Copies `blob` into the parameters and buffers of `model`. Throws Error(kInvalidInput)
// naming the first parameter whose name, dtype or shape differs: a snapshot of another
// model is refused, never half-loaded.
void LoadSnapshotIntoModel(const SnapshotBlob& blob, torch::nn::Module& model);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_SNAPSHOT_H_
