#include "common/weights_codec.h"

#include <kj/exception.h>

#include <algorithm>
#include <cstring>

#include "common/capnp_frames.h"
#include "common/trajectory_codec.h"
#include "common/weights.capnp.h"

namespace rlrec::common {

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

std::string DecodeRunEnded(std::shared_ptr<const Multipart> message) {
  CapnpIncoming incoming(std::move(message), 1, "run-ended");
  try {
    return incoming.reader().getRoot<wire::RunEnded>().getReason().cStr();
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("run-ended: malformed message: ") + e.getDescription().cStr());
  }
}

SnapshotAssembler::SnapshotAssembler(uint64_t max_bytes) : max_bytes_(max_bytes) {}

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
    if (completed_any_ && version <= completed_version_) return nullptr;
    const uint32_t index = chunk.getChunkIndex(), count = chunk.getChunkCount();
    const uint64_t total = chunk.getTotalBytes(), offset = chunk.getOffset();
    auto data = chunk.getData();
    if (count == 0 || index >= count || total > max_bytes_ || offset > total ||
        data.size() > total - offset) {
      throw InvalidInput("weight chunk " + std::to_string(index) + "/" + std::to_string(count) +
                         " of version " + std::to_string(version) + " is inconsistent: offset " +
                         std::to_string(offset) + " + " + std::to_string(data.size()) +
                         " bytes in a snapshot of " + std::to_string(total) + " bytes (limit " +
                         std::to_string(max_bytes_) + ")");
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
      pending_->manifest.clear();
      for (auto spec : chunk.getManifest()) {
        ParamSpec p;
        p.name = spec.getName().cStr();
        auto dtype = static_cast<uint16_t>(spec.getDtype());
        if (dtype > static_cast<uint16_t>(DType::kInt64)) {
          throw InvalidInput("weight manifest entry '" + p.name + "' has unknown dtype");
        }
        p.dtype = static_cast<DType>(dtype);
        for (uint32_t d : spec.getShape()) p.shape.push_back(d);
        manifest_bytes += p.bytes();
        pending_->manifest.push_back(std::move(p));
      }
      if (manifest_bytes != total) {
        throw InvalidInput("weight manifest of version " + std::to_string(version) + " describes " +
                           std::to_string(manifest_bytes) + " bytes, the snapshot holds " +
                           std::to_string(total));
      }
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
