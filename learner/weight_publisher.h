#ifndef RLREC_LEARNER_WEIGHT_PUBLISHER_H_
#define RLREC_LEARNER_WEIGHT_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/curve.h"
#include "common/weights_codec.h"
#include "common/zmq_socket.h"

namespace rlrec::learner {

// The lead learner's weights socket (XPUB, verbose: it sees every subscription). Publishes
// snapshots in chunks, sends the latest one again soon after a subscriber joins (or rejoins,
// SnapshotCache::kResubscribeAfterS), and re-publishes it every `republish_s` so that actors
// that lost a chunk catch up. A snapshot too large to send in a moment is sent no more often
// than its size allows: a join waits until the previous send had time to reach the
// subscribers (at kAssumedBytesPerS), and the periodic re-publish takes at most a tenth of that
// bandwidth. Publishing never blocks: PUB drops messages for subscribers that do not keep up,
// and they take a later version. Not thread-safe.
class WeightPublisher {
 public:
  // What one subscriber is assumed to take per second on the learner's network.
  static constexpr double kAssumedBytesPerS = 1e9;
  // Least time between two sends answering joins.
  static constexpr double kJoinGapS = 0.25;

  // With `security`, a CURVE server that only the run's clients reach (common::ZapHandler).
  WeightPublisher(const common::ZmqContext& context, const std::string& endpoint,
                  size_t chunk_bytes, double republish_s,
                  const common::SocketSecurity& security = {});

  const std::string& endpoint() const { return endpoint_; }

  // Publishes `blob` now and remembers it as the latest.
  void Publish(std::shared_ptr<const common::SnapshotBlob> blob);
  // Takes subscriptions, and re-publishes the latest snapshot when a subscriber joined or
  // `republish_s` passed since it was last sent (both paced by the snapshot's size).
  void RepublishIfDue();
  // Tells subscribers the run is over.
  void PublishRunEnded(const std::string& run_id, const std::string& reason);

  uint64_t latest_version() const { return latest_ ? latest_->version : 0; }
  uint64_t chunks_sent() const { return chunks_sent_; }
  // Subscriptions seen (a subscriber subscribes to each topic it reads).
  uint64_t subscriptions() const { return subscriptions_; }

 private:
  void Send();
  void TakeSubscriptions();  // never waits

  common::ZmqSocket socket_;
  std::string endpoint_;
  size_t chunk_bytes_;
  double republish_s_;
  std::shared_ptr<const common::SnapshotBlob> latest_;
  common::Clock::time_point last_sent_;
  uint64_t chunks_sent_ = 0;
  uint64_t subscriptions_ = 0;
  bool joined_ = false;  // a subscriber joined since the latest send
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_WEIGHT_PUBLISHER_H_
