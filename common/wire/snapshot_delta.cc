#include "common/wire/snapshot_delta.h"

#include <cstring>

#include "common/base/checksum.h"
#include "common/base/error.h"
#include "common/base/logging.h"

namespace rlrec::common {
namespace {

// Where one tensor of the full snapshot comes from in a delta: whole, or as changed rows.
struct DeltaEntry {
  size_t full_offset = 0;   // bytes into the full snapshot
  size_t full_bytes = 0;    // of the tensor in the full snapshot
  size_t delta_offset = 0;  // bytes into the delta: the whole tensor, or the row ids
  bool rows = false;
  size_t changed = 0;        // rows: how many
  size_t row_bytes = 0;      // rows: bytes of one row
  size_t table_rows = 0;     // rows: rows of the tensor
  size_t values_offset = 0;  // rows: bytes into the delta of the new rows
};

std::string Describe(const ParamSpec& p) {
  return "'" + Printable(p.name) + "' " + TensorView{p.dtype, p.shape, nullptr, 0}.Describe();
}

// Matches `delta` entry by entry against `full`; throws what does not fit. Also returns the
// delta's byte count through `delta_bytes`.
std::vector<DeltaEntry> PlanDelta(const std::vector<ParamSpec>& full,
                                  const std::vector<ParamSpec>& delta, uint64_t version,
                                  size_t* delta_bytes) {
  const std::string where = "delta of version " + std::to_string(version);
  std::vector<DeltaEntry> plan;
  size_t d = 0, full_offset = 0, delta_offset = 0;
  for (const ParamSpec& spec : full) {
    DeltaEntry entry;
    entry.full_offset = full_offset;
    entry.full_bytes = spec.bytes();
    entry.delta_offset = delta_offset;
    if (d < delta.size() && delta[d].name == spec.name) {
      if (delta[d].dtype != spec.dtype || delta[d].shape != spec.shape) {
        throw InvalidInput(where + ": tensor " + Describe(delta[d]) + ", the model has " +
                           Describe(spec));
      }
      delta_offset += entry.full_bytes;
      d += 1;
    } else if (d + 1 < delta.size() && delta[d].name == spec.name + kDeltaRowsSuffix &&
               delta[d + 1].name == spec.name + kDeltaValuesSuffix) {
      const ParamSpec& ids = delta[d];
      const ParamSpec& values = delta[d + 1];
      if (spec.shape.size() != 2 || ids.dtype != DType::kInt64 || ids.shape.size() != 1 ||
          ids.shape[0] > spec.shape[0] || values.dtype != spec.dtype ||
          values.shape != std::vector<int64_t>{ids.shape[0], spec.shape[1]}) {
        throw InvalidInput(where + ": rows " + Describe(ids) + " and " + Describe(values) +
                           " do not fit the model's " + Describe(spec));
      }
      entry.rows = true;
      entry.changed = static_cast<size_t>(ids.shape[0]);
      entry.table_rows = static_cast<size_t>(spec.shape[0]);
      entry.row_bytes = entry.table_rows ? entry.full_bytes / entry.table_rows : 0;
      entry.values_offset = delta_offset + ids.bytes();
      delta_offset += ids.bytes() + values.bytes();
      d += 2;
    } else {
      throw InvalidInput(where + ": entry " + std::to_string(d) + " is " +
                         (d < delta.size() ? Describe(delta[d]) : std::string("missing")) +
                         ", where the model's " + Describe(spec) + " (or its changed rows) goes");
    }
    full_offset += entry.full_bytes;
    plan.push_back(entry);
  }
  if (d != delta.size()) {
    throw InvalidInput(where + ": entry " + std::to_string(d) + " " + Describe(delta[d]) +
                       " is not in the model");
  }
  *delta_bytes = delta_offset;
  return plan;
}

}  // namespace

uint64_t MaxDeltaBytes(const std::vector<ParamSpec>& full) {
  uint64_t bytes = 0;
  for (const ParamSpec& spec : full) {
    bytes += spec.bytes();
    if (spec.shape.size() == 2) bytes += sizeof(int64_t) * static_cast<uint64_t>(spec.shape[0]);
  }
  return bytes;
}

void CheckDeltaManifest(const std::vector<ParamSpec>& full, const std::vector<ParamSpec>& delta,
                        uint64_t version) {
  size_t bytes = 0;
  PlanDelta(full, delta, version, &bytes);
}

uint64_t StateChecksum(const uint8_t* state, size_t bytes) {
  const uint64_t sum = Checksum64(state, bytes);
  return sum == 0 ? 1 : sum;
}

uint64_t StateChecksum(const SnapshotBlob& blob) {
  return StateChecksum(blob.bytes.data(), blob.bytes.size());
}

HeldState HeldOf(const SnapshotBlob& blob) {
  return {blob.run_id, blob.version, blob.publisher, blob.manifest, blob.bytes.size()};
}

std::shared_ptr<SnapshotBlob> ApplyDelta(const SnapshotBlob& base, const SnapshotBlob& delta) {
  auto out = std::make_shared<SnapshotBlob>();
  ApplyDeltaInto(base, delta, *out);
  return out;
}

namespace {

// CheckDeltaApplies's work; returns the plan PatchDelta follows.
std::vector<DeltaEntry> CheckedPlan(const HeldState& held, const SnapshotBlob& delta) {
  const std::string where = "delta of version " + std::to_string(delta.version);
  if (delta.base_version == 0) throw InvalidInput(where + " is a full snapshot, not a delta");
  if (delta.run_id != held.run_id) {
    throw InvalidInput(where + " is of run '" + Printable(delta.run_id) + "', not '" +
                       Printable(held.run_id) + "'");
  }
  if (delta.publisher != held.publisher) {
    throw InvalidInput(where + " comes from another learner process than version " +
                       std::to_string(held.version) +
                       " this receiver holds (a learner resumed?); re-sync from a full snapshot");
  }
  if (delta.base_version != held.version || delta.version <= delta.base_version) {
    throw InvalidInput(where + " applies to version " + std::to_string(delta.base_version) +
                       ", this receiver holds version " + std::to_string(held.version) +
                       ": a version was missed; re-sync from a full snapshot");
  }
  size_t delta_bytes = 0;
  std::vector<DeltaEntry> plan =
      PlanDelta(held.manifest, delta.manifest, delta.version, &delta_bytes);
  if (delta_bytes != delta.bytes.size()) {
    throw InvalidInput(where + " holds " + std::to_string(delta.bytes.size()) +
                       " bytes, its manifest describes " + std::to_string(delta_bytes));
  }
  // Every row id in range before a byte is written.
  for (const DeltaEntry& entry : plan) {
    if (!entry.rows) continue;
    const auto* ids = reinterpret_cast<const int64_t*>(delta.bytes.data() + entry.delta_offset);
    for (size_t i = 0; i < entry.changed; ++i) {
      int64_t id;
      std::memcpy(&id, ids + i, sizeof(id));  // the delta's bytes need not be aligned
      if (id < 0 || static_cast<uint64_t>(id) >= entry.table_rows) {
        throw InvalidInput(where + ": changed row " + std::to_string(i) + " is row " +
                           std::to_string(id) + " of a table of " +
                           std::to_string(entry.table_rows) + " rows");
      }
    }
  }
  return plan;
}

// Writes what `plan` says of `delta` into `state`; tells `written` (when given) each range.
void Patch(const std::vector<DeltaEntry>& plan, const SnapshotBlob& delta, uint8_t* state,
           const WrittenRange& written = nullptr) {
  for (const DeltaEntry& entry : plan) {
    uint8_t* to = state + entry.full_offset;
    const uint8_t* from = delta.bytes.data() + entry.delta_offset;
    if (!entry.rows) {
      if (entry.full_bytes > 0) std::memcpy(to, from, entry.full_bytes);
      if (written) written(entry.full_offset, entry.full_bytes);
      continue;
    }
    const uint8_t* values = delta.bytes.data() + entry.values_offset;
    for (size_t i = 0; i < entry.changed; ++i) {
      int64_t id;
      std::memcpy(&id, from + i * sizeof(id), sizeof(id));
      const size_t offset = static_cast<size_t>(id) * entry.row_bytes;
      std::memcpy(to + offset, values + i * entry.row_bytes, entry.row_bytes);
      if (written) written(entry.full_offset + offset, entry.row_bytes);
    }
  }
}

void CheckRebuiltState(const SnapshotBlob& delta, uint64_t base_version, const uint8_t* state,
                       size_t bytes) {
  if (delta.state_checksum != 0 && StateChecksum(state, bytes) != delta.state_checksum) {
    throw InvalidInput("delta of version " + std::to_string(delta.version) +
                       ": the state rebuilt on version " + std::to_string(base_version) +
                       " does not match the learner's checksum; re-sync from a full snapshot");
  }
}

}  // namespace

void CheckDeltaApplies(const HeldState& held, const SnapshotBlob& delta) {
  CheckedPlan(held, delta);
}

void ApplyDeltaInPlace(const HeldState& held, const SnapshotBlob& delta, uint8_t* state,
                       const WrittenRange& written) {
  const std::vector<DeltaEntry> plan = CheckedPlan(held, delta);
  Patch(plan, delta, state, written);
  CheckRebuiltState(delta, held.version, state, held.bytes);
}

void ApplyDeltaInto(const SnapshotBlob& base, const SnapshotBlob& delta, SnapshotBlob& out) {
  const std::vector<DeltaEntry> plan = CheckedPlan(HeldOf(base), delta);
  out.run_id = base.run_id;
  out.version = delta.version;
  out.base_version = 0;
  out.state_checksum = 0;
  out.publisher = base.publisher;
  out.manifest = base.manifest;
  out.bytes.resize(base.bytes.size());
  if (!base.bytes.empty()) std::memcpy(out.bytes.data(), base.bytes.data(), base.bytes.size());
  Patch(plan, delta, out.bytes.data());
  CheckRebuiltState(delta, base.version, out.bytes.data(), out.bytes.size());
}

}  // namespace rlrec::common
