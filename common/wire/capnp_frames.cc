#include "common/wire/capnp_frames.h"

#include <cstdint>
#include <cstring>
#include <limits>

namespace rlrec::common {
namespace {

// Blobs smaller than this are copied into the message: a frame of their own costs more.
constexpr size_t kReferenceAtLeastBytes = 16 * 1024;

bool IsWordAligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 8 == 0; }

bool WillReference(const void* data, size_t bytes) {
  return bytes >= kReferenceAtLeastBytes && bytes % 8 == 0 && IsWordAligned(data);
}

}  // namespace

CapnpOutgoing::CapnpOutgoing(size_t first_segment_words) : builder_(first_segment_words) {}

void CapnpOutgoing::Keep(std::shared_ptr<const void> owner) { keep_.push_back(std::move(owner)); }

size_t CapnpOutgoing::CopiedWords(const void* data, size_t bytes) {
  return WillReference(data, bytes) ? 0 : (bytes + 7) / 8;
}

capnp::Orphan<capnp::Data> CapnpOutgoing::ReferenceOrCopy(const void* data, size_t bytes) {
  auto orphanage = builder_.getOrphanage();
  if (WillReference(data, bytes)) {
    return orphanage.referenceExternalData(
        capnp::Data::Reader(static_cast<const kj::byte*>(data), bytes));
  }
  auto orphan = orphanage.newOrphan<capnp::Data>(bytes);
  if (bytes > 0) std::memcpy(orphan.get().begin(), data, bytes);
  return orphan;
}

void CapnpOutgoing::WriteTensor(wire::Tensor::Builder out, const TensorView& view) {
  out.setDtype(static_cast<wire::DType>(view.dtype));
  auto shape = out.initShape(static_cast<unsigned>(view.shape.size()));
  for (size_t i = 0; i < view.shape.size(); ++i) shape.set(i, static_cast<uint32_t>(view.shape[i]));
  out.adoptData(ReferenceOrCopy(view.data, view.bytes));
}

OutgoingMessage ToFrames(std::shared_ptr<CapnpOutgoing> message, std::string_view topic) {
  OutgoingMessage out;
  if (!topic.empty()) {
    // The topic is copied on send (it is small), so its bytes need only live until then:
    // they are kept alongside the message for simplicity.
    auto topic_copy = std::make_shared<std::string>(topic);
    message->Keep(topic_copy);
    out.frames.push_back({topic_copy->data(), topic_copy->size()});
  }
  for (auto segment : message->builder().getSegmentsForOutput()) {
    out.frames.push_back({segment.begin(), segment.size() * sizeof(capnp::word)});
  }
  out.owner = std::move(message);
  return out;
}

CapnpIncoming::CapnpIncoming(std::shared_ptr<const Multipart> frames, size_t first_frame,
                             const char* what)
    : frames_(std::move(frames)) {
  if (frames_->size() <= first_frame) {
    throw InvalidInput(std::string(what) + ": message has " + std::to_string(frames_->size()) +
                       " frame(s), expected Cap'n Proto segments from frame " +
                       std::to_string(first_frame));
  }
  size_t total_words = 0;
  for (size_t i = first_frame; i < frames_->size(); ++i) {
    size_t bytes = frames_->bytes(i);
    if (bytes == 0 || bytes % sizeof(capnp::word) != 0) {
      throw InvalidInput(std::string(what) + ": frame " + std::to_string(i) + " holds " +
                         std::to_string(bytes) +
                         " bytes, not a whole number of 8-byte Cap'n Proto words");
    }
    const void* data = frames_->data(i);
    size_t words = bytes / sizeof(capnp::word);
    if (!IsWordAligned(data)) {
      copies_.emplace_back(new capnp::word[words]);
      std::memcpy(copies_.back().get(), data, bytes);
      data = copies_.back().get();
    }
    segments_.emplace_back(static_cast<const capnp::word*>(data), words);
    total_words += words;
  }
  capnp::ReaderOptions options;
  // Reading a message may visit each word about once; a bound proportional to its size
  // stops amplification attacks without refusing honest messages.
  options.traversalLimitInWords = total_words * 2 + 1024;
  options.nestingLimit = 16;
  reader_ = std::make_unique<capnp::SegmentArrayMessageReader>(
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segments_.data(), segments_.size()),
      options);
}

TensorView ReadTensor(wire::Tensor::Reader in, const char* field, size_t rank) {
  TensorView view;
  auto dtype = static_cast<uint16_t>(in.getDtype());
  if (dtype > static_cast<uint16_t>(DType::kInt64)) {
    throw InvalidInput(std::string("tensor '") + field + "': unknown dtype code " +
                       std::to_string(dtype));
  }
  view.dtype = static_cast<DType>(dtype);
  auto shape = in.getShape();
  if (shape.size() != rank) {
    throw InvalidInput(std::string("tensor '") + field + "': rank " + std::to_string(shape.size()) +
                       ", expected " + std::to_string(rank));
  }
  // Overflow-safe: every dimension is < 2^32 and the product is checked against the data.
  unsigned __int128 elements = 1;
  for (uint32_t d : shape) {
    view.shape.push_back(d);
    elements *= d;
    if (elements > std::numeric_limits<uint32_t>::max() * uint64_t{16}) {
      throw InvalidInput(std::string("tensor '") + field + "': shape too large");
    }
  }
  auto data = in.getData();
  view.data = data.begin();
  view.bytes = data.size();
  if (elements * DTypeSize(view.dtype) != view.bytes) {
    throw InvalidInput(std::string("tensor '") + field + "': " + view.Describe() + " needs " +
                       std::to_string(static_cast<uint64_t>(elements * DTypeSize(view.dtype))) +
                       " bytes, message holds " + std::to_string(view.bytes));
  }
  if (view.bytes > 0 && !IsWordAligned(view.data)) {
    throw InvalidInput(std::string("tensor '") + field + "': payload not word-aligned");
  }
  return view;
}

}  // namespace rlrec::common
