#ifndef RLREC_COMMON_WEIGHTS_CODEC_H_
#define RLREC_COMMON_WEIGHTS_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/tensor_view.h"
#include "common/zmq_socket.h"

namespace rlrec::common {

// PUB/SUB topics: the first frame of every message on the weights socket.
inline constexpr char kWeightsTopic[] = "w";
inline constexpr char kRunEndedTopic[] = "e";

// One parameter of a snapshot: its name in the model, element type and shape.
struct ParamSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  size_t bytes() const;
};

// A weight snapshot as one flat blob: every parameter's bytes, concatenated in manifest
// order. Immutable once published; shared by whoever reads it.
struct SnapshotBlob {
  std::string run_id;
  uint64_t version = 0;
  std::vector<ParamSpec> manifest;
  std::vector<uint8_t> bytes;  // exactly the sum of the manifest's byte counts
};

// Cuts `blob` into messages of at most `chunk_bytes` payload each (rounded up to a multiple
// of 8), topic kWeightsTopic. Payloads reference `blob`, which the messages keep alive.
std::vector<OutgoingMessage> EncodeWeightChunks(std::shared_ptr<const SnapshotBlob> blob,
                                                size_t chunk_bytes);

// The message that tells subscribers the run is over, topic kRunEndedTopic.
OutgoingMessage EncodeRunEnded(const std::string& run_id, const std::string& reason);

// Returns the reason carried by a kRunEndedTopic message. Throws Error(kInvalidInput).
std::string DecodeRunEnded(std::shared_ptr<const Multipart> message);

// Reassembles snapshots from chunks as they arrive on a SUB socket. Chunks of a newer
// version supersede an incomplete older one; chunks of versions older than the newest
// completed one are ignored, as are repeats. Not thread-safe.
class SnapshotAssembler {
 public:
  // `max_bytes` bounds the snapshot size a chunk may announce.
  explicit SnapshotAssembler(uint64_t max_bytes = uint64_t{64} << 30);

  // Feeds one kWeightsTopic message. Returns the snapshot when this chunk completes a version
  // newer than every one returned before, nullptr otherwise. Throws Error(kInvalidInput)
  // saying what is wrong with a malformed chunk; the assembler stays usable.
  std::shared_ptr<const SnapshotBlob> Add(std::shared_ptr<const Multipart> message);

  // Versions abandoned before they were complete (a lost or superseded chunk).
  uint64_t abandoned_versions() const { return abandoned_; }

 private:
  uint64_t max_bytes_;
  uint64_t completed_version_ = 0;
  bool completed_any_ = false;
  std::shared_ptr<SnapshotBlob> pending_;
  std::vector<bool> have_;
  uint32_t have_count_ = 0;
  bool have_manifest_ = false;
  uint64_t abandoned_ = 0;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WEIGHTS_CODEC_H_
