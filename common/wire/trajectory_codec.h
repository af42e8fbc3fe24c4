#ifndef RLREC_COMMON_WIRE_TRAJECTORY_CODEC_H_
#define RLREC_COMMON_WIRE_TRAJECTORY_CODEC_H_

#include <memory>

#include "common/data/trajectory.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/protocol.h"

namespace rlrec::common {

// Encodes `trajectory` for a PUSH socket. Large tensors are referenced, not copied: the
// returned message holds `trajectory.owner` until ZeroMQ has sent it.
OutgoingMessage EncodeTrajectory(const Trajectory& trajectory);

// Decodes a received trajectory without copying tensor payloads: the views point into the
// frames of `message`, which the returned trajectory's owner keeps alive. Throws
// Error(kInvalidInput) saying what is wrong when the frames are not a valid trajectory
// (bad framing, wrong protocol version, dtypes, shapes or slate indices out of range).
Trajectory DecodeTrajectory(std::shared_ptr<const Multipart> message);

// Checks that the tensors of `trajectory` agree with each other and with its header.
// Throws Error(kInvalidInput) naming the first tensor that does not.
void ValidateTrajectory(const Trajectory& trajectory);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_TRAJECTORY_CODEC_H_
