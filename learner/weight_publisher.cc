#include "learner/weight_publisher.h"

#include <algorithm>

#include "common/logging.h"
#include "common/protocol.h"

namespace rlrec::learner {

WeightPublisher::WeightPublisher(const common::ZmqContext& context, const std::string& endpoint,
                                 size_t chunk_bytes, double republish_s,
                                 const common::SocketSecurity& security)
    : socket_(context, ZMQ_XPUB, "weights XPUB"),
      chunk_bytes_(chunk_bytes),
      republish_s_(republish_s) {
  // Room for a few whole snapshots per subscriber; beyond that PUB drops, never blocks.
  socket_.SetInt(ZMQ_SNDHWM, 4096);
  socket_.SetInt(ZMQ_XPUB_VERBOSE, 1);  // every subscription, also to topics already taken
  socket_.LimitMessages(common::kMaxSendOnlyInboundBytes, 1);
  common::SecureServer(socket_, security);
  endpoint_ = socket_.Bind(endpoint);
}

void WeightPublisher::Publish(std::shared_ptr<const common::SnapshotBlob> blob) {
  latest_ = std::move(blob);
  Send();
}

void WeightPublisher::TakeSubscriptions() {
  // Subscriptions are one frame: 1 (or 0 to unsubscribe), then the topic.
  while (auto message = socket_.Receive(common::After(0))) {
    const auto frame = message->view(0);
    if (message->size() == 1 && !frame.empty() && frame[0] == 1) {
      ++subscriptions_;
      joined_ = true;
    }
  }
}

void WeightPublisher::RepublishIfDue() {
  TakeSubscriptions();
  if (!latest_) return;
  const double since = common::SecondsSince(last_sent_);
  const double send_s = static_cast<double>(latest_->bytes.size()) / kAssumedBytesPerS;
  // Joins are answered at most kJoinGapS apart, so that a peer that floods subscriptions
  // cannot make the lead send more than a few snapshots a second.
  const bool join_due = joined_ && since >= std::max(kJoinGapS, send_s);
  if (join_due || since >= std::max(republish_s_, 10 * send_s)) Send();
}

void WeightPublisher::Send() {
  for (const auto& chunk : common::EncodeWeightChunks(latest_, chunk_bytes_)) {
    // PUB never reports a full queue: it drops for slow subscribers. The deadline only
    // guards against a ZeroMQ that says otherwise.
    if (!socket_.Send(chunk, common::After(0.1))) {
      RLREC_LOG(Warning) << "weights PUB refused a chunk of version " << latest_->version;
    }
    ++chunks_sent_;
  }
  last_sent_ = common::Clock::now();
  joined_ = false;
}

void WeightPublisher::PublishRunEnded(const std::string& run_id, const std::string& reason) {
  socket_.Send(common::EncodeRunEnded(run_id, reason), common::After(0.1));
}

}  // namespace rlrec::learner
