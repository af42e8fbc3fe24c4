#include "common/model/snapshot.h"

#include <algorithm>
#include <cstring>

#include "common/base/error.h"
#include "common/model/torch_views.h"
#include "common/wire/snapshot_delta.h"

namespace rlrec::common {
namespace {

// Parameters first, then buffers, each in registration order: the same on every process
// that builds the same model.
std::vector<std::pair<std::string, torch::Tensor>> NamedState(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : model.named_parameters()) state.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) state.emplace_back(b.key(), b.value());
  return state;
}

}  // namespace

std::vector<ParamSpec> ManifestOf(torch::nn::Module& model) {
  std::vector<ParamSpec> manifest;
  for (const auto& [name, t] : NamedState(model)) {
    manifest.push_back({name, DTypeOf(t.scalar_type()), t.sizes().vec()});
  }
  return manifest;
}

std::shared_ptr<SnapshotBlob> SnapshotFromModel(torch::nn::Module& model, const std::string& run_id,
                                                uint64_t version,
                                                std::shared_ptr<SnapshotBlob> reuse) {
  torch::NoGradGuard no_grad;
  auto blob = reuse ? std::move(reuse) : std::make_shared<SnapshotBlob>();
  blob->run_id = run_id;
  blob->version = version;
  blob->base_version = 0;
  blob->state_checksum = 0;
  auto state = NamedState(model);
  blob->manifest = ManifestOf(model);
  size_t total = 0;
  for (const ParamSpec& spec : blob->manifest) total += spec.bytes();
  blob->bytes.resize(total);
  size_t offset = 0;
  for (const auto& [name, t] : state) {
    auto cpu = t.detach().to(torch::kCPU).contiguous();
    size_t bytes = cpu.numel() * cpu.element_size();
    std::memcpy(blob->bytes.data() + offset, cpu.data_ptr(), bytes);
    offset += bytes;
  }
  return blob;
}

std::shared_ptr<SnapshotBlob> DeltaFromModel(torch::nn::Module& model, const std::string& run_id,
                                             uint64_t version, uint64_t base_version,
                                             const std::vector<ChangedRows>& changed) {
  torch::NoGradGuard no_grad;
  auto blob = std::make_shared<SnapshotBlob>();
  blob->run_id = run_id;
  blob->version = version;
  blob->base_version = base_version;
  // What each tensor contributes: itself, or its changed rows' ids then values.
  std::vector<torch::Tensor> parts;
  size_t found = 0;
  for (const auto& [name, t] : NamedState(model)) {
    const auto table = std::find_if(changed.begin(), changed.end(),
                                    [&](const ChangedRows& c) { return c.table.is_same(t); });
    if (table == changed.end()) {
      blob->manifest.push_back({name, DTypeOf(t.scalar_type()), t.sizes().vec()});
      parts.push_back(t.detach().to(torch::kCPU).contiguous());
      continue;
    }
    if (t.dim() != 2) throw InvalidInput("delta of '" + name + "': not a 2-D table");
    ++found;
    auto rows = table->rows.to(t.device(), torch::kLong);
    parts.push_back(rows.to(torch::kCPU).contiguous());
    parts.push_back(t.detach().index_select(0, rows).to(torch::kCPU).contiguous());
    blob->manifest.push_back({name + kDeltaRowsSuffix, DType::kInt64, {rows.numel()}});
    blob->manifest.push_back(
        {name + kDeltaValuesSuffix, DTypeOf(t.scalar_type()), {rows.numel(), t.size(1)}});
  }
  if (found != changed.size()) {
    throw InvalidInput("delta: " + std::to_string(changed.size() - found) +
                       " changed tables are not parameters of the model");
  }
  size_t total = 0;
  for (const auto& part : parts) total += part.nbytes();
  blob->bytes.resize(total);
  size_t offset = 0;
  for (const auto& part : parts) {
    if (part.nbytes() == 0) continue;  // no rows changed: no storage to copy from
    std::memcpy(blob->bytes.data() + offset, part.data_ptr(), part.nbytes());
    offset += part.nbytes();
  }
  return blob;
}

namespace {

// Throws Error(kInvalidInput) naming the first tensor of `state` that `blob` does not match.
void CheckSnapshotFitsModel(const std::vector<ParamSpec>& manifest, uint64_t version,
                            const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  if (state.size() != manifest.size()) {
    throw InvalidInput("snapshot version " + std::to_string(version) + " has " +
                       std::to_string(manifest.size()) + " tensors, the model has " +
                       std::to_string(state.size()));
  }
  for (size_t i = 0; i < state.size(); ++i) {
    const ParamSpec& spec = manifest[i];
    const auto& [name, t] = state[i];
    if (spec.name != name || ScalarTypeOf(spec.dtype) != t.scalar_type() ||
        spec.shape != t.sizes().vec()) {
      throw InvalidInput(
          "snapshot version " + std::to_string(version) + " tensor " + std::to_string(i) + " is '" +
          spec.name + "' " + TensorView{spec.dtype, spec.shape, nullptr, 0}.Describe() +
          ", the model has '" + name + "' " +
          TensorView{DTypeOf(t.scalar_type()), t.sizes().vec(), nullptr, 0}.Describe());
    }
  }
}

}  // namespace

void LoadSnapshotIntoModel(const SnapshotBlob& blob, torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  auto state = NamedState(model);
  CheckSnapshotFitsModel(blob.manifest, blob.version, state);
  size_t offset = 0;
  for (size_t i = 0; i < state.size(); ++i) {
    auto& t = state[i].second;
    auto source = torch::from_blob(const_cast<uint8_t*>(blob.bytes.data() + offset), t.sizes(),
                                   torch::TensorOptions().dtype(t.scalar_type()));
    t.copy_(source);
    offset += blob.manifest[i].bytes();
  }
}

void ViewModelOnBytes(const std::vector<ParamSpec>& manifest, uint64_t version,
                      const uint8_t* bytes, std::shared_ptr<const void> owner,
                      torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  auto state = NamedState(model);
  CheckSnapshotFitsModel(manifest, version, state);
  size_t offset = 0;
  for (size_t i = 0; i < state.size(); ++i) {
    auto& t = state[i].second;
    auto* data = const_cast<uint8_t*>(bytes + offset);
    const auto options = torch::TensorOptions().dtype(t.scalar_type());
    if (!t.device().is_cpu() || reinterpret_cast<uintptr_t>(data) % t.element_size() != 0) {
      t.copy_(torch::from_blob(data, t.sizes(), options));  // no view possible: copy
    } else {
      // The view owns a reference to the owner: the bytes live as long as any tensor reads them.
      t.set_data(torch::from_blob(
          data, t.sizes(), [keep = owner](void*) {}, options));
    }
    offset += manifest[i].bytes();
  }
}

void ViewModelOnSnapshot(std::shared_ptr<const SnapshotBlob> blob, torch::nn::Module& model) {
  const uint8_t* bytes = blob->bytes.data();
  ViewModelOnBytes(blob->manifest, blob->version, bytes, blob, model);
}

}  // namespace rlrec::common
