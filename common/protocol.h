#ifndef RLREC_COMMON_PROTOCOL_H_
#define RLREC_COMMON_PROTOCOL_H_

#include <cstdint>

namespace rlrec::common {

// Wire protocol version, carried by trajectories, weight chunks and the control hello.
// Bump it whenever a schema changes incompatibly: peers of different versions refuse each
// other with a clear error instead of misreading bytes.
inline constexpr uint32_t kProtocolVersion = 2;

// Kernel send/receive buffer of trajectory sockets. Kernel buffers queue trajectories beyond
// ZeroMQ's high-water marks, and queued trajectories age (policy lag): keep them small so
// back-pressure reaches actors early.
inline constexpr int kTrajectorySocketBufferBytes = 256 * 1024;

}  // namespace rlrec::common

#endif  // RLREC_COMMON_PROTOCOL_H_
