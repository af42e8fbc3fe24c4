#ifndef RLREC_COMMON_WIRE_PROTOCOL_H_
#define RLREC_COMMON_WIRE_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace rlrec::common {

// Wire protocol version, carried by trajectories, weight chunks and the control hello.
// Bump it whenever a schema changes incompatibly: peers of different versions refuse each
// other with a clear error instead of misreading bytes.
inline constexpr uint32_t kProtocolVersion = 4;

// Kernel send/receive buffer of trajectory sockets. Kernel buffers queue trajectories beyond
// ZeroMQ's high-water marks, and queued trajectories age (policy lag): keep them small so
// back-pressure reaches actors early.
inline constexpr int kTrajectorySocketBufferBytes = 256 * 1024;

// The most a control request or reply may take (bytes, frames), and the most a socket that
// only sends may ever receive (PUB: subscriptions; PUSH: nothing): ZMQ_MAXMSGSIZE for them.
inline constexpr size_t kMaxControlMessageBytes = size_t{1} << 20;
inline constexpr size_t kMaxControlFrames = 8;
inline constexpr size_t kMaxSendOnlyInboundBytes = 4096;

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_PROTOCOL_H_
