#ifndef RLREC_LEARNER_TRAJECTORY_RECEIVER_H_
#define RLREC_LEARNER_TRAJECTORY_RECEIVER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "common/base/logging.h"
#include "common/data/trajectory.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/trajectory_checks.h"

namespace rlrec::learner {

// Binds a learner rank's trajectory PULL socket and decodes what arrives. A message that
// does not decode, is larger than a trajectory of `contract` can be, or breaks `contract`
// (common/wire/trajectory_checks.h) is counted in decode_errors(), logged (rate-limited, with the
// reason) and dropped before any of it reaches a tensor: one bad actor never stops the
// learner. With `security`, a CURVE server that only the run's clients reach
// (common::ZapHandler). Not thread-safe.
class TrajectoryReceiver {
 public:
  TrajectoryReceiver(const common::ZmqContext& context, const std::string& endpoint,
                     int receive_hwm, common::TrajectoryContract contract,
                     const common::SocketSecurity& security = {});

  // The endpoint actually bound.
  const std::string& endpoint() const { return endpoint_; }

  // The next valid trajectory, or nullopt if none arrives before `deadline`. Its tensors
  // point into the received frames (no copy).
  std::optional<common::Trajectory> Receive(common::Deadline deadline);

  uint64_t received() const { return received_; }
  // Messages dropped: undecodable, breaking the contract, or over the size limits.
  uint64_t decode_errors() const { return decode_errors_ + socket_.oversized(); }
  uint64_t bytes_received() const { return bytes_; }
  // Seconds spent decoding and checking what arrived (not waiting for it).
  double decode_s() const { return decode_s_; }

 private:
  common::ZmqSocket socket_;
  std::string endpoint_;
  common::TrajectoryContract contract_;
  common::LogLimiter log_limiter_;
  uint64_t received_ = 0;
  uint64_t decode_errors_ = 0;
  uint64_t bytes_ = 0;
  double decode_s_ = 0;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAJECTORY_RECEIVER_H_
