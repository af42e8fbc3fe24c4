#ifndef RLREC_COMMON_MODEL_CHECKPOINT_FILE_H_
#define RLREC_COMMON_MODEL_CHECKPOINT_FILE_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace rlrec::common {

// The layout of what a checkpoint holds; a reader refuses any other.
inline constexpr uint32_t kCheckpointSchemaVersion = 1;

// A checkpoint file is a 32-byte header (magic "RLRECKPT", schema version, payload length,
// 64-bit checksum of the payload, common/base/checksum.h) followed by the payload, a LibTorch
// archive. The header lets a reader tell a truncated or corrupted file, or one of another schema,
// from a good one before anything is loaded.

// Writes `archive` to `path` atomically: a temporary file in the same folder, fsync'ed, then
// renamed over `path`, and the folder fsync'ed; a crash leaves the old file or the new one.
// Throws Error(kUnavailable) when it cannot write.
void WriteCheckpointFile(const std::string& path, torch::serialize::OutputArchive& archive);

// Reads and verifies `path` into `archive`. Throws Error(kInvalidInput) naming the file and
// what is wrong: missing or unreadable, not an rlrec checkpoint, another schema version,
// truncated, corrupted (checksum), or an unreadable archive.
void ReadCheckpointFile(const std::string& path, torch::serialize::InputArchive* archive);

// Loads `module`'s parameters and buffers from `archive` (as torch::nn::Module::save wrote
// them), checking every shape first: LibTorch's own Module::load silently takes on the
// archive's shapes. Throws Error(kInvalidInput) naming the first missing tensor or the first
// shape that differs; nothing is copied then.
void LoadModuleChecked(torch::nn::Module& module, torch::serialize::InputArchive& archive);

// ReadCheckpointFile, then loads the archive's "model" into `module` with LoadModuleChecked.
// Throws Error(kInvalidInput) naming `path`: the file's problems as ReadCheckpointFile says
// them, or "holds a model of another shape" with the first tensor that differs.
void ReadCheckpointModel(const std::string& path, torch::nn::Module& module,
                         torch::serialize::InputArchive* archive);

// The counter stored under `key` in the archive of checkpoint `path`. Throws
// Error(kInvalidInput) naming the file and the key when it is missing.
uint64_t ReadCheckpointCounter(torch::serialize::InputArchive& archive, const char* key,
                               const std::string& path);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_CHECKPOINT_FILE_H_
