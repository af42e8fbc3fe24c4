#ifndef RLREC_ACTORS_TRAJECTORY_SENDER_H_
#define RLREC_ACTORS_TRAJECTORY_SENDER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/data/trajectory.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"

namespace rlrec::actors {

// An actor's trajectory PUSH socket, connected to every learner rank's PULL endpoint
// (ZeroMQ spreads the unrolls over them): the twin of learner::TrajectoryReceiver. Small
// queues (transport.send_hwm) make a slow learner block its actors at the send, instead of
// growing their memory or serving stale data. Not thread-safe. `context` must outlive it.
class TrajectorySender {
 public:
  // With `security`, connects over CURVE with the run's client keys.
  TrajectorySender(const common::ZmqContext& context, const std::vector<std::string>& endpoints,
                   int send_hwm, const common::SocketSecurity& security = {});

  // Encodes `trajectory` and queues it without copying its tensors (it keeps them alive until
  // sent). While the queue is full it waits, checking `cancelled` every 0.1 s: returns false,
  // having sent nothing, once that says true. Throws Error(kUnavailable) when the learners
  // take nothing for `give_up_s` seconds.
  bool Send(const common::Trajectory& trajectory, const std::function<bool()>& cancelled,
            double give_up_s);

  uint64_t sent() const { return sent_; }
  // Seconds spent waiting on a full queue (back-pressure), over every Send.
  double blocked_s() const { return blocked_s_; }
  // Seconds spent encoding trajectories, over every Send.
  double encode_s() const { return encode_s_; }

 private:
  common::ZmqSocket socket_;
  uint64_t sent_ = 0;
  double blocked_s_ = 0;
  double encode_s_ = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_TRAJECTORY_SENDER_H_
