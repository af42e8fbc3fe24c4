#include "common/weights_codec.h"

#include <kj/exception.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/capnp_frames.h"
#include "common/checksum.h"
#include "common/logging.h"
#include "common/trajectory_codec.h"
#include "common/weights.capnp.h"

namespace rlrec::common {
namespace {

// A chunk's checksum covers where its bytes go as well as the bytes.
uint64_t ChunkChecksum(uint64_t version, uint64_t index, uint64_t count, uint64_t total,
                       uint64_t offset, const void* data, size_t bytes) {
  const uint64_t header[] = {version, index, count, total, offset};
  return Checksum64(data, bytes, Checksum64(header, sizeof(header)));
}

}  // namespace

size_t ParamSpec::bytes() const {
  size_t n = DTypeSize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::vector<OutgoingMessage> EncodeWeightChunks(std::shared_ptr<const SnapshotBlob> blob,
                                                size_t chunk_bytes) {
  chunk_bytes = std::max<size_t>(8, (chunk_bytes + 7) / 8 * 8);
  const size_t total = blob->bytes.size();
  const uint32_t count =
      static_cast<uint32_t>(std::max<size_t>(1, (total + chunk_bytes - 1) / chunk_bytes));
  std::vector<OutgoingMessage> out;
  out.reserve(count);
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
    chunk.setChecksum(
        ChunkChecksum(blob->version, i, count, total, offset, blob->bytes.data() + offset, len));
    chunk.adoptData(message->ReferenceOrCopy(blob->bytes.data() + offset, len));
    out.push_back(ToFrames(std::move(message), kWeightsTopic));
  }
  return out;
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

SnapshotAssembler::SnapshotAssembler(SnapshotRules rules) : rules_(std::move(rules)) {
  for (const ParamSpec& spec : rules_.manifest) expected_bytes_ += spec.bytes();
}

void SnapshotAssembler::CheckManifest(const std::vector<ParamSpec>& manifest,
                                      uint64_t version) const {
  if (rules_.manifest.empty()) return;
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
    const uint64_t version = chunk.getVersion();
    if (!rules_.run_id.empty() && chunk.getRunId() != rules_.run_id.c_str()) {
      throw InvalidInput("weight chunk of run '" + Printable(chunk.getRunId().cStr()) +
                         "', this actor is in run '" + rules_.run_id + "'");
    }
    if (completed_any_ && version <= completed_version_) return nullptr;
    const uint32_t index = chunk.getChunkIndex(), count = chunk.getChunkCount();
    const uint64_t total = chunk.getTotalBytes(), offset = chunk.getOffset();
    auto data = chunk.getData();
    // Chunks carry at least 8 bytes each (EncodeWeightChunks), so a snapshot of `total` bytes
    // has at most total / 8 + 1 of them.
    const uint64_t limit = expected_bytes_ > 0 ? expected_bytes_ : rules_.max_bytes;
    if (count == 0 || index >= count || count > total / 8 + 1 || total > limit ||
        (expected_bytes_ > 0 && total != expected_bytes_) || offset > total ||
        data.size() > total - offset) {
      throw InvalidInput("weight chunk " + std::to_string(index) + "/" + std::to_string(count) +
                         " of version " + std::to_string(version) + " is inconsistent: offset " +
                         std::to_string(offset) + " + " + std::to_string(data.size()) +
                         " bytes in a snapshot of " + std::to_string(total) + " bytes (" +
                         (expected_bytes_ > 0 ? "this actor's model has " : "limit ") +
                         std::to_string(limit) + ")");
    }
    if (ChunkChecksum(version, index, count, total, offset, data.begin(), data.size()) !=
        chunk.getChecksum()) {
      throw InvalidInput("weight chunk " + std::to_string(index) + "/" + std::to_string(count) +
                         " of version " + std::to_string(version) +
                         " does not match its checksum (corrupted in transit?)");
    }
    if (!pending_ || pending_->version != version) {
      if (pending_ && pending_->version > version) return nullptr;  // a late, older chunk
      if (pending_) ++abandoned_;
      pending_ = std::make_shared<SnapshotBlob>();
      pending_->version = version;
      pending_->run_id = chunk.getRunId().cStr();
      pending_->bytes.assign(total, 0);
      have_.assign(count, false);
      have_count_ = 0;
      have_manifest_ = false;
    }
    if (have_.size() != count || pending_->bytes.size() != total) {
      throw InvalidInput("weight chunk of version " + std::to_string(version) +
                         " disagrees with earlier chunks on the chunk count or size");
    }
    if (have_[index]) return nullptr;
    if (index == 0) {
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
                             Printable(p.name) + "' overruns the snapshot's " +
                             std::to_string(total) + " bytes");
        }
        manifest_bytes += bytes;
        manifest.push_back(std::move(p));
      }
      CheckManifest(manifest, version);
      if (manifest_bytes != total) {
        throw InvalidInput("weight manifest of version " + std::to_string(version) + " describes " +
                           std::to_string(manifest_bytes) + " bytes, the snapshot holds " +
                           std::to_string(total));
      }
      pending_->manifest = std::move(manifest);
      have_manifest_ = true;
    }
    if (data.size() > 0) std::memcpy(pending_->bytes.data() + offset, data.begin(), data.size());
    have_[index] = true;
    ++have_count_;
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("weight chunk: malformed Cap'n Proto message: ") +
                       e.getDescription().cStr());
  }
  if (have_count_ < have_.size() || !have_manifest_) return nullptr;
  completed_any_ = true;
  completed_version_ = pending_->version;
  std::shared_ptr<const SnapshotBlob> done = std::move(pending_);
  pending_.reset();
  return done;
}

}  // namespace rlrec::common
