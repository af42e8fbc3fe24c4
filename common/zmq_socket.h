#ifndef RLREC_COMMON_ZMQ_SOCKET_H_
#define RLREC_COMMON_ZMQ_SOCKET_H_

#include <zmq.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/deadline.h"
#include "common/error.h"

// Throws rlrec::common::Error naming the failed ZeroMQ call and its error text when `expr`
// returns a negative value. Every ZeroMQ call in rlrec goes through this or handles EAGAIN.
#define RLREC_ZMQ_CALL(expr)                                                   \
  do {                                                                         \
    if ((expr) < 0) ::rlrec::common::ThrowZmqError(#expr, __FILE__, __LINE__); \
  } while (0)

namespace rlrec::common {

[[noreturn]] void ThrowZmqError(const char* call, const char* file, int line);

// Owns a ZeroMQ context. Every socket made from it must be destroyed first. Sockets have a
// bounded linger, so destruction never hangs on unsent messages.
class ZmqContext {
 public:
  explicit ZmqContext(int io_threads = 1);
  ~ZmqContext();
  ZmqContext(const ZmqContext&) = delete;
  ZmqContext& operator=(const ZmqContext&) = delete;
  void* get() const { return ctx_; }

 private:
  void* ctx_;
};

// A received multipart message. Its frames' bytes stay valid, at fixed addresses, for the
// lifetime of this object, so decoders may point into them instead of copying.
class Multipart {
 public:
  Multipart() = default;
  ~Multipart();
  Multipart(const Multipart&) = delete;
  Multipart& operator=(const Multipart&) = delete;

  size_t size() const { return frames_.size(); }
  const void* data(size_t i) const;
  size_t bytes(size_t i) const;
  std::string_view view(size_t i) const;
  // Total payload bytes over all frames.
  size_t total_bytes() const;
  // Appends an empty message and returns it, for the receiver to fill.
  zmq_msg_t* AddFrame();

 private:
  std::vector<std::unique_ptr<zmq_msg_t>> frames_;
};

// One frame to send: bytes owned elsewhere, kept alive by OutgoingMessage::owner.
struct OutFrame {
  const void* data = nullptr;
  size_t bytes = 0;
};

// A message to send without copying its large frames: ZeroMQ holds `owner` (and so the
// bytes the frames point at) until it has written every frame.
struct OutgoingMessage {
  std::vector<OutFrame> frames;
  std::shared_ptr<const void> owner;
  size_t total_bytes() const;
};

// A ZeroMQ socket. Not thread-safe: one thread uses it at a time (ZeroMQ's own rule).
// `what` names the socket in error messages ("trajectory PULL").
class ZmqSocket {
 public:
  ZmqSocket(const ZmqContext& context, int type, std::string what);
  ~ZmqSocket();
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;

  void SetInt(int option, int value);
  void SetBytes(int option, std::string_view value);
  // Refuses inbound messages larger than what the protocol on this socket can legitimately
  // carry: ZeroMQ disconnects a peer whose frame exceeds `max_bytes` (ZMQ_MAXMSGSIZE) before
  // buffering it, and Receive drops (and counts in oversized()) a message of more than
  // `max_frames` frames or `max_bytes` in all.
  void LimitMessages(size_t max_bytes, size_t max_frames);
  // Messages Receive dropped for breaking LimitMessages.
  uint64_t oversized() const { return oversized_; }
  // Binds to `endpoint` (a port of "*" or 0 picks a free one) and returns the endpoint
  // actually bound, e.g. "tcp://127.0.0.1:40123". Throws kUnavailable when it cannot bind.
  std::string Bind(const std::string& endpoint);
  void Connect(const std::string& endpoint);

  // Queues every frame of `message` as one multipart message. Waits while the high-water
  // mark is reached; returns false, having queued nothing, if `deadline` passes first.
  bool Send(const OutgoingMessage& message, Deadline deadline);
  // Sends one frame copied from `bytes` (for small messages); `more` marks a frame that
  // is followed by another of the same message.
  bool SendCopy(std::string_view bytes, bool more, Deadline deadline);

  // Returns the next whole message, or nullptr if none arrives before `deadline`. Frames
  // are not interpreted: the caller validates them.
  std::unique_ptr<Multipart> Receive(Deadline deadline);

  // True when a message can be received now or before `deadline`.
  bool WaitReadable(Deadline deadline);

  void* raw() const { return socket_; }
  const std::string& what() const { return what_; }

 private:
  bool WaitFor(short events, Deadline deadline);
  bool SendFrame(zmq_msg_t* msg, bool more, Deadline deadline);

  void* socket_;
  std::string what_;
  size_t max_bytes_ = SIZE_MAX;
  size_t max_frames_ = SIZE_MAX;
  uint64_t oversized_ = 0;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_ZMQ_SOCKET_H_
