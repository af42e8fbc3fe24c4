#include "learner/trajectory_receiver.h"

#include "common/logging.h"
#include "common/protocol.h"
#include "common/state_tensors.h"
#include "common/trajectory_codec.h"

namespace rlrec::learner {

ExpectedShape ExpectedShapeOf(const common::RunConfig& config) {
  return {config.actor.unroll, config.sim.candidates + 1,
          common::ObservationFeatures(config.sim.topics), config.sim.slate_size,
          config.sim.history_length};
}

TrajectoryReceiver::TrajectoryReceiver(const common::ZmqContext& context,
                                       const std::string& endpoint, int receive_hwm,
                                       ExpectedShape expected)
    : socket_(context, ZMQ_PULL, "trajectory PULL"), expected_(expected) {
  socket_.SetInt(ZMQ_RCVHWM, receive_hwm);
  socket_.SetInt(ZMQ_RCVBUF, common::kTrajectorySocketBufferBytes);
  endpoint_ = socket_.Bind(endpoint);
}

std::optional<common::Trajectory> TrajectoryReceiver::Receive(common::Deadline deadline) {
  while (true) {
    std::shared_ptr<const common::Multipart> message = socket_.Receive(deadline);
    if (!message) return std::nullopt;
    bytes_ += message->total_bytes();
    try {
      common::Trajectory t = common::DecodeTrajectory(message);
      const auto& obs = t.steps.features.shape;
      const int64_t history = t.steps.history_items.shape.back();
      if (t.unroll_length != expected_.unroll || obs[2] != expected_.rows ||
          obs[3] != expected_.features || t.slates.shape[2] != expected_.slate_size ||
          history != expected_.history) {
        throw common::InvalidInput(
            "trajectory from actor " + std::to_string(t.actor_id) +
            " has T=" + std::to_string(t.unroll_length) + " R=" + std::to_string(obs[2]) +
            " F=" + std::to_string(obs[3]) + " K=" + std::to_string(t.slates.shape[2]) +
            ", this learner trains on T=" + std::to_string(expected_.unroll) +
            " R=" + std::to_string(expected_.rows) + " F=" + std::to_string(expected_.features) +
            " K=" + std::to_string(expected_.slate_size) + " (same config for all?)");
      }
      ++received_;
      return t;
    } catch (const common::Error& e) {
      ++decode_errors_;
      if (decode_errors_ <= 5 || decode_errors_ % 1000 == 0) {
        RLREC_LOG(Warning) << "dropped trajectory message " << decode_errors_ << " ("
                           << message->size() << " frames, " << message->total_bytes()
                           << " bytes): " << e.what();
      }
    }
    if (common::Clock::now() >= deadline) return std::nullopt;
  }
}

}  // namespace rlrec::learner
