#ifndef RLREC_COMMON_MODEL_POLICY_EXPORT_H_
#define RLREC_COMMON_MODEL_POLICY_EXPORT_H_

#include <string>

#include "common/config/config.h"

namespace rlrec::common {

// What an export writes, under `out_dir`: a Triton Inference Server model repository for
// its PyTorch (LibTorch) backend.
//   out_dir/rlrec_policy/config.pbtxt    inputs, outputs, batching
//   out_dir/rlrec_policy/1/model.pt      TorchScript module
//   out_dir/rlrec_policy/metadata.json   model config, snapshot version, item count, spec
//   out_dir/rlrec_policy/run_config.ini  the run's settings (config.ini), for serve-check
// The module's forward takes, for a batch of N requests (C candidates, F features per row,
// H history entries):
//   features           float32 [N, 1 + C, F]  row 0 the user, rows 1..C the candidates
//   candidate_items    int64   [N, C]         item ids, -1 for items without a stable id
//   history_items      int64   [N, H]         the user's last impressions, newest first, -1 empty
//   history_topics     int64   [N, H]         their topics, -1 empty
//   history_responses  float32 [N, H]         watch time, 0 without a click
// and returns (scores float32 [N, C], slate int64 [N, K]: the greedy slate, best first), the
// same scores as PolicyModel::Forward on the same input. torch::jit::load (C++) and
// torch.jit.load (Python) read it.
struct ExportSummary {
  std::string model_path;     // .../rlrec_policy/1/model.pt
  std::string metadata_path;  // .../rlrec_policy/metadata.json
  std::string config_path;    // .../rlrec_policy/run_config.ini
  uint64_t updates = 0;
  uint64_t snapshot_version = 0;
};

// Exports the policy of checkpoint `checkpoint`, a model as `config` describes it. Throws
// Error(kInvalidInput) when the checkpoint cannot be read or does not fit, Error(kUnavailable)
// when the files cannot be written.
ExportSummary ExportPolicy(const std::string& checkpoint, const RunConfig& config,
                           const std::string& out_dir);

// Where an export under `out_dir` keeps its TorchScript module and the run's settings.
std::string ExportedModelPath(const std::string& out_dir);
std::string ExportedConfigPath(const std::string& out_dir);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_POLICY_EXPORT_H_
