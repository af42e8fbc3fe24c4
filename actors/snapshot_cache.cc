#include "actors/snapshot_cache.h"

#include "common/logging.h"

namespace rlrec::actors {

using common::After;

SnapshotCache::SnapshotCache(const common::ZmqContext& context,
                             const std::string& weights_endpoint) {
  // The thread makes and owns the socket: a ZeroMQ socket belongs to one thread.
  thread_ = std::thread(&SnapshotCache::Receive, this, std::cref(context), weights_endpoint);
}

SnapshotCache::~SnapshotCache() {
  stop_ = true;
  thread_.join();
}

std::shared_ptr<const common::SnapshotBlob> SnapshotCache::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

void SnapshotCache::Receive(const common::ZmqContext& context, std::string endpoint) {
  try {
    common::ZmqSocket socket(context, ZMQ_SUB, "weights SUB");
    // A whole snapshot's chunks must fit while this thread assembles; PUB drops beyond it.
    socket.SetInt(ZMQ_RCVHWM, 4096);
    socket.SetBytes(ZMQ_SUBSCRIBE, common::kWeightsTopic);
    socket.SetBytes(ZMQ_SUBSCRIBE, common::kRunEndedTopic);
    socket.Connect(endpoint);
    common::SnapshotAssembler assembler;
    while (!stop_) {
      std::shared_ptr<const common::Multipart> message = socket.Receive(After(0.1));
      if (!message) continue;
      try {
        auto topic = message->view(0);
        if (topic == common::kWeightsTopic) {
          if (auto blob = assembler.Add(message)) {
            std::lock_guard<std::mutex> lock(mu_);
            latest_ = std::move(blob);
            ++snapshots_received_;
          }
        } else if (topic == common::kRunEndedTopic) {
          RLREC_LOG(Info) << "learner ended the run: " << common::DecodeRunEnded(message);
          run_ended_ = true;
        }
      } catch (const common::Error& e) {
        ++malformed_;
        RLREC_LOG(Warning) << "dropped a malformed weights message: " << e.what();
      }
    }
  } catch (const common::Error& e) {
    RLREC_LOG(Error) << "weights subscriber stopped: " << e.what();
    run_ended_ = true;
  }
}

}  // namespace rlrec::actors
