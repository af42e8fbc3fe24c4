#ifndef RLREC_COMMON_ZAP_HANDLER_H_
#define RLREC_COMMON_ZAP_HANDLER_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "common/zmq_socket.h"

namespace rlrec::common {

// ZeroMQ's authentication handler (ZAP, RFC 27) for one context: CURVE server sockets of
// that context ask it about every client handshake, and it admits only clients whose public
// key is `client_public_z85` (the run's client key); everyone else is refused before any
// message of theirs is delivered. Runs on a thread of its own; it must exist before the
// context's CURVE sockets bind and outlive them. Thread-safe.
class ZapHandler {
 public:
  ZapHandler(const ZmqContext& context, const std::string& client_public_z85);
  // Stops and joins the thread (within about 100 ms).
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Handshakes admitted and refused so far.
  uint64_t admitted() const { return admitted_.load(); }
  uint64_t denied() const { return denied_.load(); }

 private:
  void Serve();

  ZmqSocket socket_;
  std::string client_public_;  // 32 bytes, binary
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> admitted_{0}, denied_{0};
  std::thread thread_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_ZAP_HANDLER_H_
