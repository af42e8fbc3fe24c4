#ifndef RLREC_COMMON_TRANSPORT_ZAP_HANDLER_H_
#define RLREC_COMMON_TRANSPORT_ZAP_HANDLER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#include "common/transport/zmq_socket.h"

namespace rlrec::common {

// ZeroMQ's authentication handler (ZAP, RFC 27) for one context: server sockets of that
// context ask it about every handshake (SecureServer sets their ZAP domain), and nothing a
// refused peer sends is delivered. Runs on a thread of its own; it must exist before the
// context's guarded sockets bind and outlive them. Thread-safe.
//
// CURVE handshakes are admitted only with the run's client key `client_public_z85` (none when
// it is empty). Handshakes without CURVE (ZeroMQ's NULL mechanism) are admitted, except from
// another user's process on this host: before it answers, the handler looks at every
// connection its guarded sockets accepted (WatchAccepts: ZeroMQ's socket monitor tells their
// descriptors) and shuts down each one whose peer is on a loopback address and belongs to a
// user other than this process's (or root) — or cannot be told (FindLoopbackPeer). ZeroMQ
// reports a connection accepted before it can ask about its handshake, so no stranger's
// connection is admitted, and a stranger gets no welcome, no weights, and never reaches a
// socket's queue.
class ZapHandler {
 public:
  ZapHandler(const ZmqContext& context, const std::string& client_public_z85);
  // Stops and joins the thread (within about 100 ms).
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Has the handler check the peers of every connection `socket` accepts from now on. Call
  // from the socket's thread, before it binds; `socket` may close at any time.
  void WatchAccepts(ZmqSocket& socket);

  // Handshakes admitted and refused so far; connections shut down for their peer's user.
  uint64_t admitted() const { return admitted_.load(); }
  uint64_t denied() const { return denied_.load(); }
  uint64_t strangers() const { return strangers_.load(); }

 private:
  void Serve();
  // Reads the accepted connections' events and shuts down strangers' connections.
  void CheckAccepted(LogLimiter& log_limiter);

  const ZmqContext& context_;
  ZmqSocket socket_;
  std::string client_public_;  // 32 bytes, binary; empty: no CURVE client is admitted
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> admitted_{0}, denied_{0}, strangers_{0};
  std::mutex mu_;
  std::vector<void*> new_monitors_;  // guarded by mu_: PAIR sockets for the thread to take
  std::vector<void*> monitors_;      // the thread's own
  std::thread thread_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_TRANSPORT_ZAP_HANDLER_H_
