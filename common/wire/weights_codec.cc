#include "common/wire/weights_codec.h"

#include <kj/exception.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/base/checksum.h"
#include "common/base/logging.h"
#include "common/wire/capnp_frames.h"
#include "common/wire/snapshot_delta.h"
#include "common/wire/trajectory_codec.h"
#include "common/wire/weights.capnp.h"

namespace rlrec::common {

uint64_t WeightChunkChecksum(const WeightChunkHeader& h, const void* data, size_t bytes) {
  const uint64_t header[] = {h.version, h.index,        h.count,          h.total_bytes,
                             h.offset,  h.base_version, h.state_checksum, h.publisher};
  return Checksum64(data, bytes, Checksum64(header, sizeof(header)));
}

std::vector<OutgoingMessage> EncodeWeightChunks(std::shared_ptr<const SnapshotBlob> blob,
                                                size_t chunk_bytes, uint64_t publisher) {
  std::vector<OutgoingMessage> out;
  ForEachWeightChunk(std::move(blob), chunk_bytes, publisher,
                     [&out](OutgoingMessage chunk) { out.push_back(std::move(chunk)); });
  return out;
}

void ForEachWeightChunk(std::shared_ptr<const SnapshotBlob> blob, size_t chunk_bytes,
                        uint64_t publisher, const std::function<void(OutgoingMessage)>& take) {
  chunk_bytes = std::max<size_t>(8, (chunk_bytes + 7) / 8 * 8);
  const size_t total = blob->bytes.size();
  const uint32_t count =
      static_cast<uint32_t>(std::max<size_t>(1, (total + chunk_bytes - 1) / chunk_bytes));
  for (uint32_t i = 0; i < count; ++i) {
    auto message = std::make_shared<CapnpOutgoing>();
    message->Keep(blob);
    auto chunk = message->builder().initRoot<wire::WeightChunk>();
    chunk.setProtocolVersion(kProtocolVersion);
    chunk.setRunId(blob->run_id);
    chunk.setVersion(blob->version);
    chunk.setChunkIndex(i);
    chunk.setChunkCount(count);
    chunk.setTotalBytes(total);
    const size_t offset = size_t{i} * chunk_bytes;
    const size_t len = std::min(chunk_bytes, total - offset);
    chunk.setOffset(offset);
    chunk.setBaseVersion(blob->base_version);
    chunk.setStateChecksum(blob->state_checksum);
    chunk.setPublisher(publisher);
    if (i == 0) {
      auto manifest = chunk.initManifest(static_cast<unsigned>(blob->manifest.size()));
      for (size_t p = 0; p < blob->manifest.size(); ++p) {
        const ParamSpec& spec = blob->manifest[p];
        manifest[p].setName(spec.name);
        manifest[p].setDtype(static_cast<wire::DType>(spec.dtype));
        auto shape = manifest[p].initShape(static_cast<unsigned>(spec.shape.size()));
        for (size_t d = 0; d < spec.shape.size(); ++d) {
          shape.set(d, static_cast<uint32_t>(spec.shape[d]));
        }
      }
    }
    const WeightChunkHeader header{
        blob->version,        i,        count, total, offset, blob->base_version,
        blob->state_checksum, publisher};
    chunk.setChecksum(WeightChunkChecksum(header, blob->bytes.data() + offset, len));
    chunk.adoptData(message->ReferenceOrCopy(blob->bytes.data() + offset, len));
    take(ToFrames(std::move(message), kWeightsTopic));
  }
}

OutgoingMessage EncodeRunEnded(const std::string& run_id, const std::string& reason) {
  auto message = std::make_shared<CapnpOutgoing>(64);
  auto root = message->builder().initRoot<wire::RunEnded>();
  root.setRunId(run_id);
  root.setReason(reason);
  return ToFrames(std::move(message), kRunEndedTopic);
}

RunEnded DecodeRunEnded(std::shared_ptr<const Multipart> message) {
  CapnpIncoming incoming(std::move(message), 1, "run-ended");
  try {
    auto root = incoming.reader().getRoot<wire::RunEnded>();
    return {root.getRunId().cStr(), root.getReason().cStr()};
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("run-ended: malformed message: ") + e.getDescription().cStr());
  }
}

size_t MaxWeightMessageBytes(size_t chunk_bytes) {
  // The chunk's payload rounded as EncodeWeightChunks rounds it, plus header and pointers.
  return (chunk_bytes + 7) / 8 * 8 + (size_t{64} << 10);
}

void CheckSnapshotFinite(const SnapshotBlob& blob) {
  size_t offset = 0;
  for (const ParamSpec& spec : blob.manifest) {
    const size_t bytes = spec.bytes();
    if (spec.dtype == DType::kFloat32) {
      const auto* x = reinterpret_cast<const float*>(blob.bytes.data() + offset);
      for (size_t i = 0, n = bytes / sizeof(float); i < n; ++i) {
        if (!std::isfinite(x[i])) {
          throw InvalidInput("snapshot version " + std::to_string(blob.version) + " parameter '" +
                             spec.name + "' element " + std::to_string(i) + " is " +
                             std::to_string(x[i]));
        }
      }
    }
    offset += bytes;
  }
}

SnapshotAssembler::SnapshotAssembler(SnapshotRules rules, BufferSource buffers)
    : rules_(std::move(rules)), buffers_(std::move(buffers)) {
  for (const ParamSpec& spec : rules_.manifest) expected_bytes_ += spec.bytes();
  max_delta_bytes_ = MaxDeltaBytes(rules_.manifest);
}

void SnapshotAssembler::SetHeldVersion(uint64_t version, uint64_t publisher) {
  completed_any_ = version != 0;
  completed_version_ = version;
  completed_publisher_ = publisher;
}

void SnapshotAssembler::CheckManifest(const std::vector<ParamSpec>& manifest, uint64_t version,
                                      bool delta) const {
  if (rules_.manifest.empty()) return;
  if (delta) return CheckDeltaManifest(rules_.manifest, manifest, version);
  const auto describe = [](const ParamSpec& p) {
    return "'" + Printable(p.name) + "' " + TensorView{p.dtype, p.shape, nullptr, 0}.Describe();
  };
  for (size_t i = 0; i < std::max(manifest.size(), rules_.manifest.size()); ++i) {
    const ParamSpec* got = i < manifest.size() ? &manifest[i] : nullptr;
    const ParamSpec* want = i < rules_.manifest.size() ? &rules_.manifest[i] : nullptr;
    if (got && want && got->name == want->name && got->dtype == want->dtype &&
        got->shape == want->shape) {
      continue;
    }
    throw InvalidInput("weight manifest of version " + std::to_string(version) + ": tensor " +
                       std::to_string(i) + " is " + (got ? describe(*got) : "missing") +
                       ", this actor's model has " + (want ? describe(*want) : "no more"));
  }
}

namespace {

// Chunk 0's manifest, each entry's size checked so that together they fit `total` bytes.
std::vector<ParamSpec> ReadManifest(wire::WeightChunk::Reader chunk, uint64_t version,
                                    uint64_t total) {
  size_t manifest_bytes = 0;
  std::vector<ParamSpec> manifest;
  for (auto spec : chunk.getManifest()) {
    ParamSpec p;
    p.name = spec.getName().cStr();
    auto dtype = static_cast<uint16_t>(spec.getDtype());
    if (dtype > static_cast<uint16_t>(DType::kInt64)) {
      throw InvalidInput("weight manifest entry '" + Printable(p.name) + "' has unknown dtype");
    }
    p.dtype = static_cast<DType>(dtype);
    for (uint32_t d : spec.getShape()) p.shape.push_back(d);
    if (p.shape.size() > 8) {
      throw InvalidInput("weight manifest entry '" + Printable(p.name) + "' has rank " +
                         std::to_string(p.shape.size()));
    }
    // Shapes that multiply out to more than the snapshot, or overflow: refuse.
    size_t bytes = DTypeSize(p.dtype);
    bool overflow = false;
    for (int64_t d : p.shape) overflow |= __builtin_mul_overflow(bytes, size_t(d), &bytes);
    if (overflow || bytes > total || manifest_bytes + bytes > total) {
      throw InvalidInput("weight manifest of version " + std::to_string(version) + " entry '" +
                         Printable(p.name) + "' overruns the snapshot's " + std::to_string(total) +
                         " bytes");
    }
    manifest_bytes += bytes;
    manifest.push_back(std::move(p));
  }
  if (manifest_bytes != total) {
    throw InvalidInput("weight manifest of version " + std::to_string(version) + " describes " +
                       std::to_string(manifest_bytes) + " bytes, the snapshot holds " +
                       std::to_string(total));
  }
  return manifest;
}

}  // namespace

void SnapshotAssembler::CheckHeader(const WeightChunkHeader& h, size_t data_bytes) const {
  // Chunks carry at least 8 bytes each (EncodeWeightChunks), so a snapshot of `total` bytes
  // has at most total / 8 + 1 of them. A full snapshot has exactly the model's size; a delta
  // at most MaxDeltaBytes of it.
  const bool delta = h.base_version != 0;
  const uint64_t limit = expected_bytes_ == 0 ? rules_.max_bytes
                         : delta              ? max_delta_bytes_
                                              : expected_bytes_;
  if (h.count == 0 || h.index >= h.count || h.count > h.total_bytes / 8 + 1 ||
      h.total_bytes > limit || (expected_bytes_ > 0 && !delta && h.total_bytes != limit) ||
      h.offset > h.total_bytes || data_bytes > h.total_bytes - h.offset) {
    throw InvalidInput("weight chunk " + std::to_string(h.index) + "/" + std::to_string(h.count) +
                       " of version " + std::to_string(h.version) + " is inconsistent: offset " +
                       std::to_string(h.offset) + " + " + std::to_string(data_bytes) +
                       " bytes in a " + (delta ? "delta" : "snapshot") + " of " +
                       std::to_string(h.total_bytes) + " bytes (" +
                       (expected_bytes_ == 0 ? "limit "
                        : delta              ? "this actor's model allows "
                                             : "this actor's model has ") +
                       std::to_string(limit) + ")");
  }
  if (delta && h.base_version >= h.version) {
    throw InvalidInput("weight chunk of version " + std::to_string(h.version) +
                       " is a delta on the later version " + std::to_string(h.base_version));
  }
}

std::shared_ptr<const SnapshotBlob> SnapshotAssembler::Add(
    std::shared_ptr<const Multipart> message) {
  CapnpIncoming incoming(std::move(message), 1, "weight chunk");
  try {
    auto chunk = incoming.reader().getRoot<wire::WeightChunk>();
    if (chunk.getProtocolVersion() != kProtocolVersion) {
      throw InvalidInput("weight chunk protocol version " +
                         std::to_string(chunk.getProtocolVersion()) + ", expected " +
                         std::to_string(kProtocolVersion));
    }
    const WeightChunkHeader h{
        chunk.getVersion(), chunk.getChunkIndex(),  chunk.getChunkCount(),    chunk.getTotalBytes(),
        chunk.getOffset(),  chunk.getBaseVersion(), chunk.getStateChecksum(), chunk.getPublisher()};
    if (!rules_.run_id.empty() && chunk.getRunId() != rules_.run_id.c_str()) {
      throw InvalidInput("weight chunk of run '" + Printable(chunk.getRunId().cStr()) +
                         "', this actor is in run '" + rules_.run_id + "'");
    }
    // Another learner process (resumed from a checkpoint): its versions count anew.
    if (completed_any_ && h.publisher != completed_publisher_) completed_any_ = false;
    if (completed_any_ && h.version <= completed_version_) return nullptr;
    auto data = chunk.getData();
    CheckHeader(h, data.size());
    if (WeightChunkChecksum(h, data.begin(), data.size()) != chunk.getChecksum()) {
      throw InvalidInput("weight chunk " + std::to_string(h.index) + "/" + std::to_string(h.count) +
                         " of version " + std::to_string(h.version) +
                         " does not match its checksum (corrupted in transit?)");
    }
    if (!pending_ || pending_->version != h.version || pending_->publisher != h.publisher) {
      if (pending_ && pending_->publisher == h.publisher && pending_->version > h.version) {
        return nullptr;  // a late, older chunk
      }
      if (pending_) ++abandoned_;
      pending_.reset();  // before asking for memory: it may be the memory given
      pending_ = h.base_version == 0 && buffers_ ? buffers_() : nullptr;
      if (!pending_) pending_ = std::make_shared<SnapshotBlob>();
      pending_->manifest.clear();
      pending_->version = h.version;
      pending_->base_version = h.base_version;
      pending_->state_checksum = h.state_checksum;
      pending_->publisher = h.publisher;
      pending_->run_id = chunk.getRunId().cStr();
      pending_->bytes.resize(h.total_bytes);  // every byte is written by a chunk
      have_.assign(h.count, false);
      have_count_ = 0;
      have_manifest_ = false;
    }
    if (have_.size() != h.count || pending_->bytes.size() != h.total_bytes ||
        pending_->base_version != h.base_version || pending_->state_checksum != h.state_checksum) {
      throw InvalidInput("weight chunk of version " + std::to_string(h.version) +
                         " disagrees with earlier chunks on the chunk count, size or base");
    }
    if (have_[h.index]) return nullptr;
    if (h.index == 0) {
      std::vector<ParamSpec> manifest = ReadManifest(chunk, h.version, h.total_bytes);
      CheckManifest(manifest, h.version, pending_->is_delta());
      pending_->manifest = std::move(manifest);
      have_manifest_ = true;
    }
    if (data.size() > 0) std::memcpy(pending_->bytes.data() + h.offset, data.begin(), data.size());
    have_[h.index] = true;
    ++have_count_;
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("weight chunk: malformed Cap'n Proto message: ") +
                       e.getDescription().cStr());
  }
  if (have_count_ < have_.size() || !have_manifest_) return nullptr;
  completed_any_ = true;
  completed_version_ = pending_->version;
  completed_publisher_ = pending_->publisher;
  std::shared_ptr<const SnapshotBlob> done = std::move(pending_);
  pending_.reset();
  return done;
}

}  // namespace rlrec::common
