#include "learner/trajectory_receiver.h"

#include "common/base/logging.h"
#include "common/wire/protocol.h"
#include "common/wire/trajectory_codec.h"

namespace rlrec::learner {

TrajectoryReceiver::TrajectoryReceiver(const common::ZmqContext& context,
                                       const std::string& endpoint, int receive_hwm,
                                       common::TrajectoryContract contract,
                                       const common::SocketSecurity& security)
    : socket_(context, ZMQ_PULL, "trajectory PULL"), contract_(contract) {
  socket_.SetInt(ZMQ_RCVHWM, receive_hwm);
  socket_.LimitMessages(common::MaxTrajectoryMessageBytes(contract_), common::kMaxTrajectoryFrames);
  socket_.SetInt(ZMQ_RCVBUF, common::kTrajectorySocketBufferBytes);
  common::SecureServer(socket_, security);
  endpoint_ = socket_.Bind(endpoint);
}

std::optional<common::Trajectory> TrajectoryReceiver::Receive(common::Deadline deadline) {
  while (true) {
    std::shared_ptr<const common::Multipart> message = socket_.Receive(deadline);
    if (!message) return std::nullopt;
    bytes_ += message->total_bytes();
    const auto arrived = common::Clock::now();
    try {
      common::Trajectory t = common::DecodeTrajectory(message);
      common::CheckTrajectory(t, contract_);
      ++received_;
      decode_s_ += common::SecondsSince(arrived);
      return t;
    } catch (const common::Error& e) {
      decode_s_ += common::SecondsSince(arrived);
      ++decode_errors_;
      if (log_limiter_.Allow()) {
        const uint64_t held_back = log_limiter_.TakeSuppressed();
        RLREC_LOG(Warning) << "dropped trajectory message " << decode_errors_ << " ("
                           << message->size() << " frames, " << message->total_bytes()
                           << " bytes): " << common::Printable(e.what(), 500)
                           << (held_back ? " (" + std::to_string(held_back) +
                                               " more dropped since the last line)"
                                         : std::string());
      }
    }
    if (common::Clock::now() >= deadline) return std::nullopt;
  }
}

}  // namespace rlrec::learner
