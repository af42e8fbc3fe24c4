#ifndef RLREC_COMMON_MODEL_SNAPSHOT_H_
#define RLREC_COMMON_MODEL_SNAPSHOT_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "common/data/tensor_view.h"
#include "common/wire/weights_codec.h"

namespace rlrec::common {

// Copies every parameter and buffer of `model` (on any device) into a blob, in the module's
// registration order, tagged with `run_id` and `version`: into `reuse` when given (a retired
// snapshot nobody else holds: its memory is already mapped, many times faster to fill than
// fresh pages), else into a new one.
std::shared_ptr<SnapshotBlob> SnapshotFromModel(torch::nn::Module& model, const std::string& run_id,
                                                uint64_t version,
                                                std::shared_ptr<SnapshotBlob> reuse = nullptr);

// Rows of a 2-D parameter that changed, for a delta snapshot: `table` is the parameter itself
// (the same tensor the model holds), `rows` int64 row ids on any device.
struct ChangedRows {
  torch::Tensor table;
  torch::Tensor rows;
};

// A delta snapshot of `model` at `version` on `base_version` (common/wire/snapshot_delta.h): every
// parameter and buffer whole, as SnapshotFromModel writes them, except the tables of `changed`,
// of which only the given rows. Throws Error(kInvalidInput) when a table of `changed` is not a
// 2-D parameter of `model`.
std::shared_ptr<SnapshotBlob> DeltaFromModel(torch::nn::Module& model, const std::string& run_id,
                                             uint64_t version, uint64_t base_version,
                                             const std::vector<ChangedRows>& changed);

// The manifest a snapshot of `model` has: every parameter and buffer's name, dtype and shape,
// in the order SnapshotFromModel writes them. What a subscriber should accept (SnapshotRules).
std::vector<ParamSpec> ManifestOf(torch::nn::Module& model);

// Copies `blob` into the parameters and buffers of `model`. Throws Error(kInvalidInput)
// naming the first parameter whose name, dtype or shape differs: a snapshot of another
// model is refused, never half-loaded.
void LoadSnapshotIntoModel(const SnapshotBlob& blob, torch::nn::Module& model);

// Makes every parameter and buffer of `model` (on the CPU) a read-only view of `blob`'s bytes,
// without copying: the model then holds no weights of its own, and the blob lives as long as
// any of its tensors (each holds a reference). For models that only run forward, like an
// actor's: writing to a parameter would write into the shared snapshot. Tensors on another
// device, or not aligned for their type, are copied instead. Throws like LoadSnapshotIntoModel.
void ViewModelOnSnapshot(std::shared_ptr<const SnapshotBlob> blob, torch::nn::Module& model);
// The same over `bytes` laid out as `manifest` (of snapshot `version`, for messages), kept
// alive by `owner`: a snapshot held elsewhere, such as a host's shared one
// (actors/snapshot/host_segment.h).
void ViewModelOnBytes(const std::vector<ParamSpec>& manifest, uint64_t version,
                      const uint8_t* bytes, std::shared_ptr<const void> owner,
                      torch::nn::Module& model);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_SNAPSHOT_H_
