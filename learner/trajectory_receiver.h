#ifndef RLREC_LEARNER_TRAJECTORY_RECEIVER_H_
#define RLREC_LEARNER_TRAJECTORY_RECEIVER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "common/config_keys.h"
#include "common/trajectory.h"
#include "common/zmq_socket.h"

namespace rlrec::learner {

// The shape every trajectory must have to join this learner's batches.
struct ExpectedShape {
  int64_t unroll = 0;      // T
  int64_t rows = 0;        // R = 1 + C
  int64_t features = 0;    // F
  int64_t slate_size = 0;  // K
  int64_t history = 0;     // H
};

// The shape of the trajectories of the run `config` describes.
ExpectedShape ExpectedShapeOf(const common::RunConfig& config);

// Binds a learner rank's trajectory PULL socket and decodes what arrives. A message that
// does not decode, or whose shape is not `expected`, is counted in decode_errors(), logged
// (rate-limited) and dropped: one bad actor never stops the learner. Not thread-safe.
class TrajectoryReceiver {
 public:
  TrajectoryReceiver(const common::ZmqContext& context, const std::string& endpoint,
                     int receive_hwm, ExpectedShape expected);

  // The endpoint actually bound.
  const std::string& endpoint() const { return endpoint_; }

  // The next valid trajectory, or nullopt if none arrives before `deadline`. Its tensors
  // point into the received frames (no copy).
  std::optional<common::Trajectory> Receive(common::Deadline deadline);

  uint64_t received() const { return received_; }
  uint64_t decode_errors() const { return decode_errors_; }
  uint64_t bytes_received() const { return bytes_; }

 private:
  common::ZmqSocket socket_;
  std::string endpoint_;
  ExpectedShape expected_;
  uint64_t received_ = 0;
  uint64_t decode_errors_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAJECTORY_RECEIVER_H_
