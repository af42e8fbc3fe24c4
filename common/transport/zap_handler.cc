#include "common/transport/zap_handler.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/base/error.h"
#include "common/base/logging.h"
#include "common/transport/loopback_peer.h"

namespace rlrec::common {
namespace {

// A ZAP request: version, request id, domain, address, routing id, mechanism, then the
// mechanism's credentials (none for NULL, the client's public key for CURVE).
constexpr size_t kRequestFrames = 6;

// A reply of copied frames.
OutgoingMessage Reply(const std::string& request_id, const char* status, const char* text) {
  auto frames = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"1.0", request_id, status, text, "", ""});
  OutgoingMessage reply;
  for (const auto& f : *frames) reply.frames.push_back({f.data(), f.size()});
  reply.owner = frames;
  return reply;
}

// The next event of monitor socket `monitor` (16 bits of event, 32 of value, then the
// endpoint), without waiting; false when there is none.
bool NextEvent(void* monitor, uint16_t* event, uint32_t* value) {
  zmq_msg_t frame;
  zmq_msg_init(&frame);
  if (zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&frame);
    return false;
  }
  *event = 0;
  *value = 0;
  if (zmq_msg_size(&frame) >= 6) {
    std::memcpy(event, zmq_msg_data(&frame), 2);
    std::memcpy(value, static_cast<const char*>(zmq_msg_data(&frame)) + 2, 4);
  }
  while (zmq_msg_more(&frame) && zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) >= 0) {
  }
  zmq_msg_close(&frame);
  return true;
}

}  // namespace

ZapHandler::ZapHandler(const ZmqContext& context, const std::string& client_public_z85)
    : context_(context), socket_(context, ZMQ_REP, "ZAP REP") {
  if (!client_public_z85.empty()) {
    client_public_.resize(32);
    if (client_public_z85.size() != 40 ||
        zmq_z85_decode(reinterpret_cast<uint8_t*>(client_public_.data()),
                       client_public_z85.c_str()) == nullptr) {
      throw InvalidInput("ZAP handler: the client public key is not a 40-character Z85 key");
    }
  }
  socket_.LimitMessages(4096, 16);
  // Bound here, before any guarded socket of the context can need it; the thread takes over.
  socket_.Bind("inproc://zeromq.zap.01");
  thread_ = std::thread(&ZapHandler::Serve, this);
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  thread_.join();
  for (void* monitor : monitors_) zmq_close(monitor);
  for (void* monitor : new_monitors_) zmq_close(monitor);
}

void ZapHandler::WatchAccepts(ZmqSocket& socket) {
  static std::atomic<uint64_t> next{0};
  const std::string endpoint = "inproc://rlrec-accepted-" + std::to_string(getpid()) + "-" +
                               std::to_string(next.fetch_add(1));
  RLREC_ZMQ_CALL(zmq_socket_monitor(socket.raw(), endpoint.c_str(), ZMQ_EVENT_ACCEPTED));
  // Connected here, before `socket` binds (so before it accepts anything); the handler's
  // thread takes it over (a ZeroMQ socket may move between threads through a mutex).
  void* monitor = zmq_socket(context_.get(), ZMQ_PAIR);
  if (monitor == nullptr) ThrowZmqError("zmq_socket(ZMQ_PAIR)", __FILE__, __LINE__);
  const int linger = 0;
  if (zmq_setsockopt(monitor, ZMQ_LINGER, &linger, sizeof(linger)) < 0 ||
      zmq_connect(monitor, endpoint.c_str()) < 0) {
    zmq_close(monitor);
    ThrowZmqError("zmq_connect(monitor)", __FILE__, __LINE__);
  }
  std::lock_guard<std::mutex> lock(mu_);
  new_monitors_.push_back(monitor);
}

void ZapHandler::CheckAccepted(LogLimiter& log_limiter) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    monitors_.insert(monitors_.end(), new_monitors_.begin(), new_monitors_.end());
    new_monitors_.clear();
  }
  for (size_t i = 0; i < monitors_.size();) {
    bool stopped = false;
    uint16_t event = 0;
    uint32_t fd = 0;
    while (NextEvent(monitors_[i], &event, &fd)) {
      if (event == ZMQ_EVENT_MONITOR_STOPPED) {
        stopped = true;
        break;
      }
      if (event != ZMQ_EVENT_ACCEPTED) continue;
      const LoopbackPeer peer = FindLoopbackPeer(static_cast<int>(fd));
      if (!peer.loopback || (peer.owner && SameUserOrRoot(*peer.owner))) continue;
      // Another user's process on this host (or one that cannot be told): cut off before its
      // handshake is answered. libzmq sees the connection fail and closes it.
      shutdown(static_cast<int>(fd), SHUT_RDWR);
      ++strangers_;
      if (log_limiter.Allow()) {
        const uint64_t held_back = log_limiter.TakeSuppressed();
        RLREC_LOG(Warning) << "refused a connection from " << peer.address << ": "
                           << (peer.owner ? "a process of uid " + std::to_string(*peer.owner)
                                          : std::string("a process whose user cannot be told"))
                           << ", not this run's user (uid " << geteuid() << "); "
                           << strangers_.load() << " refused so far"
                           << (held_back ? ", " + std::to_string(held_back) + " not logged" : "");
      }
    }
    if (stopped) {
      zmq_close(monitors_[i]);
      monitors_.erase(monitors_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

void ZapHandler::Serve() {
  LogLimiter log_limiter, stranger_log;
  while (!stop_) {
    std::unique_ptr<Multipart> request;
    try {
      request = socket_.Receive(After(0.1));
      CheckAccepted(stranger_log);
    } catch (const Error& e) {
      RLREC_LOG(Error) << "ZAP handler: " << e.what();
      continue;
    }
    if (!request) continue;
    const std::string request_id = request->size() > 1 ? std::string(request->view(1)) : "";
    const bool whole = request->size() >= kRequestFrames && request->view(0) == "1.0";
    const std::string_view mechanism = whole ? request->view(5) : "";
    // Without CURVE, strangers' connections were shut down just above: what asks is ours.
    const bool admit = (mechanism == "NULL") || (mechanism == "CURVE" && !client_public_.empty() &&
                                                 request->size() == kRequestFrames + 1 &&
                                                 request->view(kRequestFrames) == client_public_);
    if (admit) {
      ++admitted_;
    } else {
      ++denied_;
      if (log_limiter.Allow()) {
        RLREC_LOG(Warning) << "refused a connection from "
                           << (request->size() > 3 ? Printable(request->view(3)) : "?")
                           << ": not a client of this run (no CURVE key of it; " << denied_.load()
                           << " refused so far)";
      }
    }
    socket_.Send(admit ? Reply(request_id, "200", "OK")
                       : Reply(request_id, "400", "not a client of this run"),
                 After(1.0));
  }
}

}  // namespace rlrec::common
