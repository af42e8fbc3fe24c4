#ifndef RLREC_COMMON_WIRE_CAPNP_FRAMES_H_
#define RLREC_COMMON_WIRE_CAPNP_FRAMES_H_

#include <capnp/message.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/data/tensor_view.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/trajectory.capnp.h"

// Cap'n Proto messages as ZeroMQ multipart messages: one segment per frame, large blobs as
// segments of their own that reference the sender's bytes, and a reader that reads the
// received frames in place.

namespace rlrec::common {

// A message under construction. Blobs referenced with ReferenceOrCopy must stay alive until
// the message has been sent; Keep() holds their owners for exactly that long.
class CapnpOutgoing {
 public:
  explicit CapnpOutgoing(size_t first_segment_words = 1024);
  capnp::MallocMessageBuilder& builder() { return builder_; }

  // Keeps `owner` alive as long as this message.
  void Keep(std::shared_ptr<const void> owner);

  // Returns a Data orphan holding `bytes` at `data`: referenced in place when it is
  // word-aligned, a multiple of 8 bytes and large enough to be worth a frame of its own;
  // copied otherwise. Referenced bytes must outlive this message (see Keep).
  capnp::Orphan<capnp::Data> ReferenceOrCopy(const void* data, size_t bytes);

  // Words that ReferenceOrCopy(data, bytes) adds to the message's own segments: 0 when the
  // bytes will be referenced. For sizing the first segment so that everything copied lands
  // in one segment.
  static size_t CopiedWords(const void* data, size_t bytes);

  // Fills a wire Tensor from `view` (see ReferenceOrCopy for the bytes).
  void WriteTensor(wire::Tensor::Builder out, const TensorView& view);

 private:
  capnp::MallocMessageBuilder builder_;
  std::vector<std::shared_ptr<const void>> keep_;
};

// Turns a finished message into frames that ZeroMQ sends without copying the segments.
// An optional `topic` frame goes first (for PUB/SUB). `message` lives until sent.
OutgoingMessage ToFrames(std::shared_ptr<CapnpOutgoing> message, std::string_view topic = {});

// Reads a Cap'n Proto message from frames [first_frame, end) of a received message, in place
// when the frames are word-aligned (ZeroMQ's large frames are), copying a frame otherwise.
// Throws Error(kInvalidInput) for frames that cannot be segments. Keeps `frames` alive.
class CapnpIncoming {
 public:
  CapnpIncoming(std::shared_ptr<const Multipart> frames, size_t first_frame, const char* what);
  capnp::MessageReader& reader() { return *reader_; }
  // Frames of the original message copied because they were misaligned.
  int copied_frames() const { return static_cast<int>(copies_.size()); }

 private:
  std::shared_ptr<const Multipart> frames_;
  std::vector<std::unique_ptr<capnp::word[]>> copies_;
  std::vector<kj::ArrayPtr<const capnp::word>> segments_;
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader_;
};

// Reads a wire Tensor into a view over the message's bytes. Throws Error(kInvalidInput)
// naming `field` when the dtype is unknown, the rank is not `rank`, or the byte count does
// not match the shape. The view is valid while the message's frames live.
TensorView ReadTensor(wire::Tensor::Reader in, const char* field, size_t rank);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_CAPNP_FRAMES_H_
