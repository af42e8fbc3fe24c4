#ifndef RLREC_COMMON_SNAPSHOT_H_
#define RLREC_COMMON_SNAPSHOT_H_

#include <torch/torch.h>

#include <memory>
#include <string>

#include "common/tensor_view.h"
#include "common/weights_codec.h"

namespace rlrec::common {

// Copies every parameter and buffer of `model` (on any device) into a new blob, in the
// module's registration order, tagged with `run_id` and `version`.
std::shared_ptr<SnapshotBlob> SnapshotFromModel(torch::nn::Module& model, const std::string& run_id,
                                                uint64_t version);

// Copies `blob` into the parameters and buffers of `model`. Throws Error(kInvalidInput)
// naming the first parameter whose name, dtype or shape differs: a snapshot of another
// model is refused, never half-loaded.
void LoadSnapshotIntoModel(const SnapshotBlob& blob, torch::nn::Module& model);

// A LibTorch tensor over the bytes of `view`, without copying. `owner` keeps the bytes alive
// as long as the tensor (and any tensor sharing its storage) lives. The bytes are borrowed
// read-only: callers must not write into the result.
torch::Tensor TensorFromView(const TensorView& view, std::shared_ptr<const void> owner);

// A view over a contiguous CPU tensor's bytes; valid while `tensor` lives.
TensorView ViewOfTensor(const torch::Tensor& tensor);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_SNAPSHOT_H_
