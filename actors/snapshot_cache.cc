#include "actors/snapshot_cache.h"

#include "common/logging.h"

namespace rlrec::actors {

using common::After;

SnapshotCache::SnapshotCache(const common::ZmqContext& context, const std::string& weights_endpoint,
                             common::SnapshotRules rules, size_t max_message_bytes,
                             common::SocketSecurity security)
    : rules_(std::move(rules)),
      max_message_bytes_(max_message_bytes),
      security_(std::move(security)) {
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

void SnapshotCache::Handle(const std::shared_ptr<const common::Multipart>& message,
                           common::SnapshotAssembler& assembler) {
  const auto topic = message->view(0);
  if (topic == common::kWeightsTopic) {
    auto blob = assembler.Add(message);
    if (!blob) return;
    try {
      common::CheckSnapshotFinite(*blob);
    } catch (const common::Error&) {
      ++refused_snapshots_;
      throw;
    }
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(blob);
    ++snapshots_received_;
  } else if (topic == common::kRunEndedTopic) {
    const common::RunEnded ended = common::DecodeRunEnded(message);
    if (!rules_.run_id.empty() && ended.run_id != rules_.run_id) {
      throw common::InvalidInput("run-ended message of run '" + common::Printable(ended.run_id) +
                                 "', this actor is in run '" + rules_.run_id + "'");
    }
    RLREC_LOG(Info) << "learner ended the run: " << common::Printable(ended.reason, 200);
    run_ended_ = true;
  } else {
    throw common::InvalidInput("weights message of unknown topic");
  }
}

namespace {

std::unique_ptr<common::ZmqSocket> Subscribe(const common::ZmqContext& context,
                                             const std::string& endpoint, size_t max_bytes,
                                             const common::SocketSecurity& security) {
  auto socket = std::make_unique<common::ZmqSocket>(context, ZMQ_SUB, "weights SUB");
  // A whole snapshot's chunks must fit while this thread assembles; PUB drops beyond it.
  socket->SetInt(ZMQ_RCVHWM, 4096);
  socket->LimitMessages(max_bytes, common::kMaxWeightFrames);
  socket->SetBytes(ZMQ_SUBSCRIBE, common::kWeightsTopic);
  socket->SetBytes(ZMQ_SUBSCRIBE, common::kRunEndedTopic);
  common::SecureClient(*socket, security);
  socket->Connect(endpoint);
  return socket;
}

}  // namespace

void SnapshotCache::Receive(const common::ZmqContext& context, std::string endpoint) {
  try {
    std::unique_ptr<common::ZmqSocket> socket =
        Subscribe(context, endpoint, max_message_bytes_, security_);
    auto last_message = common::Clock::now();
    common::SnapshotAssembler assembler(rules_);
    common::LogLimiter log_limiter;
    uint64_t oversized = 0;
    while (!stop_) {
      std::shared_ptr<const common::Multipart> message = socket->Receive(After(0.1));
      if (socket->oversized() != oversized) {
        malformed_ += socket->oversized() - oversized;
        oversized = socket->oversized();
      }
      if (!message) {
        if (common::SecondsSince(last_message) >= kResubscribeAfterS) {
          RLREC_LOG(Warning) << "no weights message from " << endpoint << " for "
                             << kResubscribeAfterS << " s; subscribing afresh";
          socket = Subscribe(context, endpoint, max_message_bytes_, security_);
          oversized = 0;
          last_message = common::Clock::now();
          ++resubscriptions_;
        }
        continue;
      }
      last_message = common::Clock::now();
      try {
        Handle(message, assembler);
      } catch (const std::exception& e) {
        // Whatever the message did (bad_alloc included), the current snapshot stays.
        ++malformed_;
        if (log_limiter.Allow()) {
          const uint64_t held_back = log_limiter.TakeSuppressed();
          RLREC_LOG(Warning) << "dropped a weights message (" << malformed_.load()
                             << " so far): " << common::Printable(e.what(), 500)
                             << (held_back ? " (" + std::to_string(held_back) + " not logged)"
                                           : std::string());
        }
      }
    }
  } catch (const std::exception& e) {
    RLREC_LOG(Error) << "weights subscriber stopped: " << e.what();
    run_ended_ = true;
  }
}

}  // namespace rlrec::actors
