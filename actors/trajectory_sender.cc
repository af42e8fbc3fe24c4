#include "actors/trajectory_sender.h"

#include "common/base/error.h"
#include "common/wire/protocol.h"
#include "common/wire/trajectory_codec.h"

namespace rlrec::actors {

TrajectorySender::TrajectorySender(const common::ZmqContext& context,
                                   const std::vector<std::string>& endpoints, int send_hwm,
                                   const common::SocketSecurity& security)
    : socket_(context, ZMQ_PUSH, "trajectory PUSH") {
  socket_.SetInt(ZMQ_SNDHWM, send_hwm);
  socket_.SetInt(ZMQ_SNDBUF, common::kTrajectorySocketBufferBytes);
  socket_.LimitMessages(common::kMaxSendOnlyInboundBytes, 1);
  common::SecureClient(socket_, security);
  for (const auto& endpoint : endpoints) socket_.Connect(endpoint);
}

bool TrajectorySender::Send(const common::Trajectory& trajectory,
                            const std::function<bool()>& cancelled, double give_up_s) {
  const auto encode_start = common::Clock::now();
  const common::OutgoingMessage message = common::EncodeTrajectory(trajectory);
  const auto blocked_since = common::Clock::now();
  encode_s_ += std::chrono::duration<double>(blocked_since - encode_start).count();
  bool sent = false;
  while (!(sent = socket_.Send(message, common::After(0.1)))) {
    if (cancelled()) break;
    if (common::SecondsSince(blocked_since) > give_up_s) {
      blocked_s_ += common::SecondsSince(blocked_since);
      throw common::Unavailable("the learner took no trajectory for " + std::to_string(give_up_s) +
                                " s");
    }
  }
  blocked_s_ += common::SecondsSince(blocked_since);
  if (sent) ++sent_;
  return sent;
}

}  // namespace rlrec::actors
