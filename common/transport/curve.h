#ifndef RLREC_COMMON_TRANSPORT_CURVE_H_
#define RLREC_COMMON_TRANSPORT_CURVE_H_

#include <string>

#include "common/config/config_keys.h"
#include "common/transport/zmq_socket.h"

namespace rlrec::common {

// A run's CURVE keys (ZeroMQ's Z85 text, 40 characters each): one pair for the sockets the
// learners bind, one for the sockets actors connect with. Only a client holding the run's
// client secret key gets through the learner's ZAP handler (ZapHandler).
struct CurveKeys {
  std::string server_public, server_secret;  // server_secret: learners only
  std::string client_public, client_secret;
};

// Fresh keys (zmq_curve_keypair). Throws Error(kUnimplemented) when this libzmq has no CURVE.
CurveKeys GenerateCurveKeys();

// Writes `keys` to `path`, readable by the owner only (mode 0600, atomically). With
// `for_clients`, without the server's secret key: the file actors are given.
void WriteCurveKeys(const std::string& path, const CurveKeys& keys, bool for_clients);

// Reads keys written by WriteCurveKeys. Throws Error(kInvalidInput) naming the file when it
// is missing, malformed, or readable by others than its owner.
CurveKeys ReadCurveKeys(const std::string& path);

// The keys as one line of text and back, to hand them to other learner ranks.
std::string CurveKeysText(const CurveKeys& keys);
CurveKeys ParseCurveKeysText(const std::string& text, const std::string& source);

class ZapHandler;

// How a program's sockets authenticate: with CURVE and `keys`, or not at all. A server's
// sockets also name the ZAP handler (`guard`, owned elsewhere, outliving them) that admits
// their peers: without CURVE, it keeps other users of this host out (ZapHandler).
struct SocketSecurity {
  bool curve = false;
  CurveKeys keys;
  ZapHandler* guard = nullptr;
};

// Whether sockets use CURVE: with Security::kAuto, when `host` (the address a learner binds,
// or the host of the endpoint an actor connects to) is not a loopback address (127.0.0.0/8,
// ::1, localhost).
bool UsesCurve(Security security, const std::string& host);

// The host of a "tcp://HOST:PORT" endpoint ("" when it has none).
std::string EndpointHost(const std::string& endpoint);

// An actor's security: none unless UsesCurve for the host of transport.control; then CURVE
// with the client keys of transport.key_file. Throws Error(kInvalidInput) when CURVE is
// needed and no key file is given, or when it does not read.
SocketSecurity ClientSecurity(const RunConfig::Transport& transport);

// Makes `socket` a CURVE server with the run's server keys (before it binds); without CURVE,
// with a guard, has the guard admit its peers (ZapHandler::WatchAccepts); else leaves it as
// it is.
void SecureServer(ZmqSocket& socket, const SocketSecurity& security);
// Makes `socket` a CURVE client of the run's server with the run's client keys (before it
// connects), or leaves it as it is without CURVE.
void SecureClient(ZmqSocket& socket, const SocketSecurity& security);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_TRANSPORT_CURVE_H_
