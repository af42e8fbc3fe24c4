#ifndef RLREC_COMMON_TRANSPORT_ZMQ_SOCKET_H_
#define RLREC_COMMON_TRANSPORT_ZMQ_SOCKET_H_

#include <zmq.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/deadline.h"
#include "common/base/error.h"
#include "common/base/logging.h"

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
  // Lets go of every frame (their bytes are freed now).
  void Clear();

  // True for the stand-in of a message that broke its socket's limits (ZmqSocket::
  // LimitMessages): it holds no frames (they were let go as they were received), and
  // frames_seen() and bytes_seen() say how large the message was. Only a socket that must answer
  // every request (REP) returns one, so that its owner answers it.
  bool oversized() const { return oversized_; }
  size_t frames_seen() const { return frames_seen_; }
  size_t bytes_seen() const { return bytes_seen_; }
  // The stand-in of an oversized message of `frames` frames and `bytes` bytes.
  static std::unique_ptr<Multipart> Oversized(size_t frames, size_t bytes);

 private:
  std::vector<std::unique_ptr<zmq_msg_t>> frames_;
  bool oversized_ = false;
  size_t frames_seen_ = 0, bytes_seen_ = 0;
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

// What a socket's connections came to, as ZeroMQ's socket monitor told (ZmqSocket::
// WatchConnections): counts of each kind of event so far.
struct ConnectionEvents {
  uint64_t connected = 0;   // TCP connections made (client) or accepted (server)
  uint64_t retried = 0;     // connection attempts that found nothing listening
  uint64_t handshakes = 0;  // ZMTP handshakes that succeeded
  uint64_t refused = 0;     // handshakes the peer's authentication refused
  uint64_t failed = 0;      // handshakes that failed otherwise (mechanism, keys)
  uint64_t disconnected = 0;
  uint32_t refused_status = 0;  // the status code of the last refusal (ZAP: 400, ...)
  // One phrase on what went wrong with a peer at `endpoint` that did not answer, for error
  // messages ("the learner at ... refused this process's CURVE keys (status 400)", "nothing
  // accepted a connection at ...").
  std::string Describe(const std::string& endpoint) const;
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
  // `max_frames` frames or `max_bytes` in all, counting its frames and bytes as it takes them
  // from ZeroMQ and letting go of each one past the limits at once.
  //
  // What this bounds, and what it cannot: ZeroMQ hands a multipart message to its reader only
  // once its last frame has arrived, so until then a connected peer's frames of one message
  // (each within ZMQ_MAXMSGSIZE) wait in ZeroMQ's queue, whatever their number; no socket
  // option of libzmq bounds their sum. rlrec keeps none of them past the limits, and returns
  // the memory to the system after a large oversized message (ReturnFreedMemory), so the
  // process goes back to its size before it. The sum itself is bounded by who may connect:
  // CURVE (transport.security) admits only the run's key holders.
  void LimitMessages(size_t max_bytes, size_t max_frames);
  // Messages Receive dropped (or, on a REP socket, returned as oversized stand-ins) for
  // breaking LimitMessages.
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
  // are not interpreted: the caller validates them. A message that breaks LimitMessages is
  // dropped (and logged, rate-limited), except on a REP socket, which must answer every
  // request before it can receive again: there it comes back as a Multipart::Oversized
  // stand-in for the caller to answer (a refusal). On a REQ socket, whose one reply it was,
  // Receive then returns nullptr at once.
  std::unique_ptr<Multipart> Receive(Deadline deadline);

  // True when a message can be received now or before `deadline`.
  bool WaitReadable(Deadline deadline);

  // Watches this socket's connections from now on (call before Connect or Bind): Connections()
  // then says what they came to.
  void WatchConnections();
  // The connection events since WatchConnections (all zero without it). Never waits.
  const ConnectionEvents& Connections();

  void* raw() const { return socket_; }
  const std::string& what() const { return what_; }

 private:
  bool WaitFor(short events, Deadline deadline);
  bool SendFrame(zmq_msg_t* msg, bool more, Deadline deadline);

  void* context_;
  void* socket_;
  std::string what_;
  bool must_answer_ = false;  // a REP socket: every request is answered
  bool one_reply_ = false;    // a REQ socket: one reply per request
  void* monitor_ = nullptr;   // PAIR socket receiving the monitor's events, when watched
  ConnectionEvents events_;
  size_t max_bytes_ = SIZE_MAX;
  size_t max_frames_ = SIZE_MAX;
  uint64_t oversized_ = 0;
  LogLimiter oversized_log_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_TRANSPORT_ZMQ_SOCKET_H_
