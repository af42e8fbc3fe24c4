#include "actors/snapshot_cache.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "common/snapshot_delta.h"

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
    const auto held = Latest();
    try {
      common::CheckSnapshotFinite(*blob);  // a delta's own values: the base was checked
    } catch (const common::Error&) {
      ++refused_snapshots_;
      assembler.SetHeldVersion(held ? held->version : 0, held ? held->publisher : 0);
      throw;
    }
    if (blob->is_delta()) {
      std::shared_ptr<common::SnapshotBlob> rebuilt = recycler_.Take();
      if (!rebuilt) rebuilt = std::make_shared<common::SnapshotBlob>();
      try {
        if (!held) {
          throw common::InvalidInput("delta of version " + std::to_string(blob->version) +
                                     " arrived before any full snapshot; re-syncing");
        }
        common::ApplyDeltaInto(*held, *blob, *rebuilt);
        blob = std::move(rebuilt);
      } catch (const common::Error&) {
        recycler_.Share(std::move(rebuilt));  // shared with nobody: straight back, for its memory
        ++refused_deltas_;
        assembler.SetHeldVersion(held ? held->version : 0, held ? held->publisher : 0);
        resync_wanted_ = true;
        throw;
      }
      ++deltas_applied_;
    }
    // Every blob held here was made here (assembled or rebuilt), writable: its memory comes
    // back to the recycler when the last reader lets go of it.
    auto next = recycler_.Share(std::const_pointer_cast<common::SnapshotBlob>(std::move(blob)));
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(next);
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
                                             uint64_t snapshot_bytes,
                                             const common::SocketSecurity& security) {
  auto socket = std::make_unique<common::ZmqSocket>(context, ZMQ_SUB, "weights SUB");
  // A whole snapshot's chunks must fit while this thread assembles; PUB drops beyond it.
  const uint64_t chunk = max_bytes > (size_t{128} << 10) ? max_bytes - (size_t{64} << 10) : 4096;
  socket->SetInt(ZMQ_RCVHWM, static_cast<int>(std::clamp<uint64_t>(
                                 2 * (snapshot_bytes / chunk) + 64, 4096, uint64_t{1} << 30)));
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
    uint64_t snapshot_bytes = 0;
    for (const common::ParamSpec& spec : rules_.manifest) snapshot_bytes += spec.bytes();
    // Time for a full snapshot to arrive before asking for another.
    const double resync_gap_s = kResyncGapS + 2.0 * static_cast<double>(snapshot_bytes) / 1e9;
    auto last_resync = common::Clock::now() - std::chrono::hours(1);
    std::unique_ptr<common::ZmqSocket> socket =
        Subscribe(context, endpoint, max_message_bytes_, snapshot_bytes, security_);
    auto last_message = common::Clock::now();
    common::SnapshotAssembler assembler(rules_, [this] { return recycler_.Take(); });
    common::LogLimiter log_limiter;
    uint64_t oversized = 0;
    while (!stop_) {
      if (resync_wanted_ && !assembler.assembling_full() &&
          common::SecondsSince(last_resync) >= resync_gap_s) {
        // A subscription again, on the same connection: the learner sees a join and sends
        // its latest full snapshot and the deltas since.
        socket->SetBytes(ZMQ_SUBSCRIBE, common::kWeightsTopic);
        resync_wanted_ = false;
        last_resync = common::Clock::now();
        ++resyncs_;
      }
      std::shared_ptr<const common::Multipart> message = socket->Receive(After(0.1));
      if (socket->oversized() != oversized) {
        malformed_ += socket->oversized() - oversized;
        oversized = socket->oversized();
      }
      if (!message) {
        if (common::SecondsSince(last_message) >= kResubscribeAfterS) {
          RLREC_LOG(Warning) << "no weights message from " << endpoint << " for "
                             << kResubscribeAfterS << " s; subscribing afresh";
          socket = Subscribe(context, endpoint, max_message_bytes_, snapshot_bytes, security_);
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
