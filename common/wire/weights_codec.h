#ifndef RLREC_COMMON_WIRE_WEIGHTS_CODEC_H_
#define RLREC_COMMON_WIRE_WEIGHTS_CODEC_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/data/snapshot_blob.h"
#include "common/data/tensor_view.h"
#include "common/transport/zmq_socket.h"

namespace rlrec::common {

// PUB/SUB topics: the first frame of every message on the weights socket.
inline constexpr char kWeightsTopic[] = "w";
inline constexpr char kRunEndedTopic[] = "e";

// What a weight chunk's checksum covers besides its bytes: where they go, and what they are.
struct WeightChunkHeader {
  uint64_t version = 0;
  uint32_t index = 0, count = 0;
  uint64_t total_bytes = 0, offset = 0;
  uint64_t base_version = 0, state_checksum = 0;
  uint64_t publisher = 0;
};
uint64_t WeightChunkChecksum(const WeightChunkHeader& header, const void* data, size_t bytes);

// Cuts `blob` into messages of at most `chunk_bytes` payload each (rounded up to a multiple
// of 8), topic kWeightsTopic, sent by `publisher` (a learner process's id; 0 in tests that
// play one). Payloads reference `blob`, which the messages keep alive.
std::vector<OutgoingMessage> EncodeWeightChunks(std::shared_ptr<const SnapshotBlob> blob,
                                                size_t chunk_bytes, uint64_t publisher = 0);
// The same, one chunk at a time, each handed to `take` as soon as it is made: a sender sends
// the first chunks of a snapshot of gigabytes while it checksums the next ones.
void ForEachWeightChunk(std::shared_ptr<const SnapshotBlob> blob, size_t chunk_bytes,
                        uint64_t publisher, const std::function<void(OutgoingMessage)>& take);

// The message that tells subscribers the run is over, topic kRunEndedTopic.
OutgoingMessage EncodeRunEnded(const std::string& run_id, const std::string& reason);

// What a kRunEndedTopic message says.
struct RunEnded {
  std::string run_id;
  std::string reason;
};

// Decodes a kRunEndedTopic message. Throws Error(kInvalidInput).
RunEnded DecodeRunEnded(std::shared_ptr<const Multipart> message);

// The most frames a weights message has (topic and Cap'n Proto segments), and the most bytes
// a chunk of `chunk_bytes` payload takes, for ZMQ_MAXMSGSIZE.
inline constexpr size_t kMaxWeightFrames = 8;
size_t MaxWeightMessageBytes(size_t chunk_bytes);

// What a subscriber accepts: snapshots of one run and one model (and deltas on it). Anything
// else is refused before a byte is allocated for it.
struct SnapshotRules {
  std::string run_id;               // empty: any run
  std::vector<ParamSpec> manifest;  // empty: any manifest of at most max_bytes
  uint64_t max_bytes = uint64_t{64} << 30;
};

// Throws Error(kInvalidInput) naming the first float parameter of `blob` that holds a NaN
// or an infinity.
void CheckSnapshotFinite(const SnapshotBlob& blob);

// Reassembles snapshots and deltas from chunks as they arrive on a SUB socket. Chunks of a
// newer version supersede an incomplete older one; chunks of versions not newer than the one
// the receiver holds (the newest completed, or as set by SetHeldVersion) are ignored, as are
// repeats. Every chunk's checksum, its place in the snapshot, and chunk 0's manifest (a
// delta's: CheckDeltaManifest) are checked against `rules` before anything is copied or
// allocated. It does not apply deltas: it returns them whole. Not thread-safe.
class SnapshotAssembler {
 public:
  // Gives a retired snapshot whose memory a full snapshot may be assembled into, or nullptr.
  using BufferSource = std::function<std::shared_ptr<SnapshotBlob>()>;

  // With `buffers`, full snapshots are assembled into the blobs it gives when it gives one
  // (memory already mapped fills many times faster than fresh pages, and bytes over a host's
  // shared segment, BlobBytesOver, are filled in place). It is asked at a full snapshot's
  // first chunk, after the assembler let go of any blob it had.
  explicit SnapshotAssembler(SnapshotRules rules = {}, BufferSource buffers = nullptr);

  // Feeds one kWeightsTopic message. Returns the snapshot when this chunk completes a version
  // newer than every one returned before, nullptr otherwise. Throws Error(kInvalidInput)
  // saying what is wrong with a malformed, corrupted or foreign chunk; the assembler stays
  // usable and keeps what it had.
  std::shared_ptr<const SnapshotBlob> Add(std::shared_ptr<const Multipart> message);

  // Versions abandoned before they were complete (a lost or superseded chunk).
  uint64_t abandoned_versions() const { return abandoned_; }

  // The receiver holds `version` (0: nothing) of `publisher`, whatever completed here last:
  // chunks of later versions are taken again. For a receiver that refused a completed delta it
  // could not apply. Chunks of another publisher are always taken: its versions count anew.
  void SetHeldVersion(uint64_t version, uint64_t publisher);
  // True while chunks of a full snapshot are being gathered.
  bool assembling_full() const { return pending_ && !pending_->is_delta(); }

 private:
  void CheckManifest(const std::vector<ParamSpec>& manifest, uint64_t version, bool delta) const;
  // Throws unless the chunk's place fits the snapshot it says it belongs to.
  void CheckHeader(const WeightChunkHeader& header, size_t data_bytes) const;

  SnapshotRules rules_;
  BufferSource buffers_;
  uint64_t expected_bytes_ = 0;   // of rules_.manifest; 0 without one
  uint64_t max_delta_bytes_ = 0;  // MaxDeltaBytes of rules_.manifest
  uint64_t completed_version_ = 0;
  uint64_t completed_publisher_ = 0;
  bool completed_any_ = false;
  std::shared_ptr<SnapshotBlob> pending_;
  std::vector<bool> have_;
  uint32_t have_count_ = 0;
  bool have_manifest_ = false;
  uint64_t abandoned_ = 0;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_WEIGHTS_CODEC_H_
