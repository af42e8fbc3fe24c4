#include "common/transport/zmq_socket.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/base/malloc_tuning.h"

namespace rlrec::common {
namespace {

// Frames below this size are copied: a heap-held owner costs more than the copy.
constexpr size_t kCopyBelowBytes = 1024;

// Bounded linger: unsent messages are dropped this long after close, so exit never hangs.
constexpr int kLingerMs = 500;

// An oversized message at least this large is followed by ReturnFreedMemory.
constexpr size_t kReturnMemoryAfterBytes = size_t{16} << 20;

void ReleaseOwner(void* /*data*/, void* hint) {
  delete static_cast<std::shared_ptr<const void>*>(hint);
}

}  // namespace

void ThrowZmqError(const char* call, const char* file, int line) {
  int err = zmq_errno();
  std::string message = std::string(call) + " failed: " + zmq_strerror(err) + " (" + file + ":" +
                        std::to_string(line) + ")";
  if (err == EADDRINUSE || err == EADDRNOTAVAIL || err == ENODEV || err == ETERM ||
      err == EHOSTUNREACH) {
    throw Unavailable(message);
  }
  if (err == EINVAL || err == EPROTONOSUPPORT) throw InvalidInput(message);
  if (err == EAGAIN) throw Timeout(message);
  throw Internal(message);
}

ZmqContext::ZmqContext(int io_threads) : ctx_(zmq_ctx_new()) {
  if (ctx_ == nullptr) ThrowZmqError("zmq_ctx_new()", __FILE__, __LINE__);
  RLREC_ZMQ_CALL(zmq_ctx_set(ctx_, ZMQ_IO_THREADS, io_threads));
}

ZmqContext::~ZmqContext() {
  // Sockets are closed with a bounded linger, so this returns promptly; EINTR retries.
  while (zmq_ctx_term(ctx_) < 0 && zmq_errno() == EINTR) {
  }
}

Multipart::~Multipart() {
  for (auto& frame : frames_) zmq_msg_close(frame.get());
}

const void* Multipart::data(size_t i) const { return zmq_msg_data(frames_[i].get()); }
size_t Multipart::bytes(size_t i) const { return zmq_msg_size(frames_[i].get()); }
std::string_view Multipart::view(size_t i) const {
  return {static_cast<const char*>(data(i)), bytes(i)};
}
size_t Multipart::total_bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < size(); ++i) total += bytes(i);
  return total;
}
zmq_msg_t* Multipart::AddFrame() {
  frames_.push_back(std::make_unique<zmq_msg_t>());
  RLREC_ZMQ_CALL(zmq_msg_init(frames_.back().get()));
  return frames_.back().get();
}
void Multipart::Clear() {
  for (auto& frame : frames_) zmq_msg_close(frame.get());
  frames_.clear();
}
std::unique_ptr<Multipart> Multipart::Oversized(size_t frames, size_t bytes) {
  auto message = std::make_unique<Multipart>();
  message->oversized_ = true;
  message->frames_seen_ = frames;
  message->bytes_seen_ = bytes;
  return message;
}

size_t OutgoingMessage::total_bytes() const {
  size_t total = 0;
  for (const auto& f : frames) total += f.bytes;
  return total;
}

ZmqSocket::ZmqSocket(const ZmqContext& context, int type, std::string what)
    : context_(context.get()), socket_(zmq_socket(context.get(), type)), what_(std::move(what)) {
  if (socket_ == nullptr) ThrowZmqError("zmq_socket()", __FILE__, __LINE__);
  SetInt(ZMQ_LINGER, kLingerMs);
  must_answer_ = type == ZMQ_REP;
  one_reply_ = type == ZMQ_REQ;
}

ZmqSocket::~ZmqSocket() {
  zmq_close(socket_);
  if (monitor_) zmq_close(monitor_);
}

void ZmqSocket::WatchConnections() {
  if (monitor_) return;
  static std::atomic<uint64_t> next{0};
  const std::string endpoint = "inproc://rlrec-monitor-" + std::to_string(getpid()) + "-" +
                               std::to_string(next.fetch_add(1));
  RLREC_ZMQ_CALL(
      zmq_socket_monitor(socket_, endpoint.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECT_RETRIED |
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED));
  monitor_ = zmq_socket(context_, ZMQ_PAIR);
  if (monitor_ == nullptr) ThrowZmqError("zmq_socket(ZMQ_PAIR)", __FILE__, __LINE__);
  const int linger = 0;
  RLREC_ZMQ_CALL(zmq_setsockopt(monitor_, ZMQ_LINGER, &linger, sizeof(linger)));
  RLREC_ZMQ_CALL(zmq_connect(monitor_, endpoint.c_str()));
}

const ConnectionEvents& ZmqSocket::Connections() {
  if (!monitor_) return events_;
  // Each event is two frames: 16 bits of event and 32 of value, then the endpoint.
  while (true) {
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, monitor_, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&frame);
      break;
    }
    uint16_t event = 0;
    uint32_t value = 0;
    if (zmq_msg_size(&frame) >= 6) {
      std::memcpy(&event, zmq_msg_data(&frame), 2);
      std::memcpy(&value, static_cast<const char*>(zmq_msg_data(&frame)) + 2, 4);
    }
    while (zmq_msg_more(&frame) && zmq_msg_recv(&frame, monitor_, ZMQ_DONTWAIT) >= 0) {
    }
    zmq_msg_close(&frame);
    switch (event) {
      case ZMQ_EVENT_CONNECTED:
      case ZMQ_EVENT_ACCEPTED:
        ++events_.connected;
        break;
      case ZMQ_EVENT_CONNECT_RETRIED:
        ++events_.retried;
        break;
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        ++events_.handshakes;
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        ++events_.refused;
        events_.refused_status = value;
        break;
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        ++events_.failed;
        break;
      case ZMQ_EVENT_DISCONNECTED:
        ++events_.disconnected;
        break;
      default:
        break;
    }
  }
  return events_;
}

std::string ConnectionEvents::Describe(const std::string& endpoint) const {
  if (refused > 0) {
    return "the peer at " + endpoint + " refused this process's keys (authentication status " +
           std::to_string(refused_status) +
           "): with CURVE, transport.key_file must be this run's curve-client.keys";
  }
  if (failed > 0 || (connected > 0 && handshakes == 0 && disconnected > 0)) {
    return "the handshake with " + endpoint +
           " failed: one side uses CURVE and the other does not (transport.security), or the "
           "server key in transport.key_file is not this run's";
  }
  if (connected == 0) return "nothing accepted a connection at " + endpoint;
  if (handshakes > 0) return "connected to " + endpoint + ", but no answer came";
  return "connected to " + endpoint + ", no handshake completed";
}

void ZmqSocket::SetInt(int option, int value) {
  RLREC_ZMQ_CALL(zmq_setsockopt(socket_, option, &value, sizeof(value)));
}

void ZmqSocket::SetBytes(int option, std::string_view value) {
  RLREC_ZMQ_CALL(zmq_setsockopt(socket_, option, value.data(), value.size()));
}

void ZmqSocket::LimitMessages(size_t max_bytes, size_t max_frames) {
  const int64_t limit = static_cast<int64_t>(std::min<size_t>(max_bytes, INT64_MAX));
  RLREC_ZMQ_CALL(zmq_setsockopt(socket_, ZMQ_MAXMSGSIZE, &limit, sizeof(limit)));
  max_bytes_ = max_bytes;
  max_frames_ = max_frames;
}

std::string ZmqSocket::Bind(const std::string& endpoint) {
  if (zmq_bind(socket_, endpoint.c_str()) < 0) {
    int err = zmq_errno();
    throw Error(err == EINVAL || err == EPROTONOSUPPORT ? ErrorKind::kInvalidInput
                                                        : ErrorKind::kUnavailable,
                what_ + ": cannot bind '" + endpoint + "': " + zmq_strerror(err));
  }
  char bound[256];
  size_t size = sizeof(bound);
  RLREC_ZMQ_CALL(zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, bound, &size));
  return std::string(bound);
}

void ZmqSocket::Connect(const std::string& endpoint) {
  if (zmq_connect(socket_, endpoint.c_str()) < 0) {
    throw InvalidInput(what_ + ": cannot connect to '" + endpoint +
                       "': " + zmq_strerror(zmq_errno()));
  }
}

bool ZmqSocket::WaitFor(short events, Deadline deadline) {
  while (true) {
    zmq_pollitem_t item{socket_, 0, events, 0};
    int rc = zmq_poll(&item, 1, MillisLeft(deadline));
    if (rc < 0) {
      if (zmq_errno() == EINTR) {
        if (Clock::now() >= deadline) return false;
        continue;
      }
      ThrowZmqError("zmq_poll()", __FILE__, __LINE__);
    }
    if (rc > 0) return true;
    if (Clock::now() >= deadline) return false;
  }
}

bool ZmqSocket::WaitReadable(Deadline deadline) { return WaitFor(ZMQ_POLLIN, deadline); }

bool ZmqSocket::SendFrame(zmq_msg_t* msg, bool more, Deadline deadline) {
  int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
  while (zmq_msg_send(msg, socket_, flags) < 0) {
    int err = zmq_errno();
    if (err == EINTR) continue;
    if (err != EAGAIN) ThrowZmqError("zmq_msg_send()", __FILE__, __LINE__);
    if (!WaitFor(ZMQ_POLLOUT, deadline)) return false;
  }
  return true;
}

bool ZmqSocket::Send(const OutgoingMessage& message, Deadline deadline) {
  const size_t n = message.frames.size();
  for (size_t i = 0; i < n; ++i) {
    const OutFrame& frame = message.frames[i];
    zmq_msg_t msg;
    if (frame.bytes < kCopyBelowBytes || !message.owner) {
      RLREC_ZMQ_CALL(zmq_msg_init_size(&msg, frame.bytes));
      if (frame.bytes > 0) std::memcpy(zmq_msg_data(&msg), frame.data, frame.bytes);
    } else {
      auto* hint = new std::shared_ptr<const void>(message.owner);
      if (zmq_msg_init_data(&msg, const_cast<void*>(frame.data), frame.bytes, &ReleaseOwner, hint) <
          0) {
        delete hint;
        ThrowZmqError("zmq_msg_init_data()", __FILE__, __LINE__);
      }
    }
    // Only the first frame can meet the high-water mark: once it is queued, ZeroMQ takes
    // the rest of the message whole, so a timeout never leaves half a message queued.
    bool sent = SendFrame(&msg, i + 1 < n, i == 0 ? deadline : Deadline::max());
    if (!sent) {
      zmq_msg_close(&msg);
      return false;
    }
  }
  return true;
}

bool ZmqSocket::SendCopy(std::string_view bytes, bool more, Deadline deadline) {
  zmq_msg_t msg;
  RLREC_ZMQ_CALL(zmq_msg_init_size(&msg, bytes.size()));
  if (!bytes.empty()) std::memcpy(zmq_msg_data(&msg), bytes.data(), bytes.size());
  if (!SendFrame(&msg, more, deadline)) {
    zmq_msg_close(&msg);
    return false;
  }
  return true;
}

std::unique_ptr<Multipart> ZmqSocket::Receive(Deadline deadline) {
  while (true) {
    auto message = std::make_unique<Multipart>();
    zmq_msg_t* first = message->AddFrame();
    while (zmq_msg_recv(first, socket_, ZMQ_DONTWAIT) < 0) {
      int err = zmq_errno();
      if (err == EINTR) continue;
      if (err != EAGAIN) ThrowZmqError("zmq_msg_recv()", __FILE__, __LINE__);
      if (!WaitFor(ZMQ_POLLIN, deadline)) return nullptr;
    }
    // The remaining frames of a multipart message have arrived together with the first. They
    // are counted as they are taken; once the message breaks a limit, what was kept of it is
    // let go and every further frame goes through one scratch frame, freed at once.
    size_t frames = 1, total = message->bytes(0);
    bool too_large = frames > max_frames_ || total > max_bytes_;
    bool more = zmq_msg_more(first) != 0;
    if (too_large) message->Clear();
    zmq_msg_t scratch;
    zmq_msg_init(&scratch);
    while (more) {
      zmq_msg_t* next = too_large ? &scratch : message->AddFrame();
      while (zmq_msg_recv(next, socket_, 0) < 0) {
        if (zmq_errno() == EINTR) continue;
        zmq_msg_close(&scratch);
        ThrowZmqError("zmq_msg_recv()", __FILE__, __LINE__);
      }
      ++frames;
      total += zmq_msg_size(next);
      more = zmq_msg_more(next) != 0;
      if (!too_large && (frames > max_frames_ || total > max_bytes_)) {
        too_large = true;
        message->Clear();
      }
    }
    zmq_msg_close(&scratch);
    if (!too_large) return message;
    ++oversized_;
    if (!must_answer_ && oversized_log_.Allow()) {
      const uint64_t held_back = oversized_log_.TakeSuppressed();
      RLREC_LOG(Warning) << what_ << ": dropped a message of " << frames << " frames and " << total
                         << " bytes, over its limits of " << max_frames_ << " frames and "
                         << max_bytes_ << " bytes (" << oversized_ << " so far"
                         << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                         << ")";
    }
    // ZeroMQ held the whole message; a large one leaves that much freed heap behind, which a
    // process that keeps its freed memory (KeepFreedMemory) would otherwise keep for good.
    if (total >= kReturnMemoryAfterBytes) ReturnFreedMemory();
    if (must_answer_) return Multipart::Oversized(frames, total);
    // A REQ socket has had its one reply: it can receive nothing more until it sends again.
    if (one_reply_ || Clock::now() >= deadline) return nullptr;
  }
}

}  // namespace rlrec::common
