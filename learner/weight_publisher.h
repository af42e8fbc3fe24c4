#ifndef RLREC_LEARNER_WEIGHT_PUBLISHER_H_
#define RLREC_LEARNER_WEIGHT_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/curve.h"
#include "common/weights_codec.h"
#include "common/zmq_socket.h"

namespace rlrec::learner {

// The lead learner's weights PUB socket. Publishes snapshots in chunks and re-publishes the
// latest one every `republish_s`, so actors that join late or lost a chunk catch up.
// Publishing never blocks: PUB drops messages for subscribers that do not keep up, and
// they take a later version. Not thread-safe.
class WeightPublisher {
 public:
  // With `security`, a CURVE server that only the run's clients reach (common::ZapHandler).
  WeightPublisher(const common::ZmqContext& context, const std::string& endpoint,
                  size_t chunk_bytes, double republish_s,
                  const common::SocketSecurity& security = {});

  const std::string& endpoint() const { return endpoint_; }

  // Publishes `blob` now and remembers it as the latest.
  void Publish(std::shared_ptr<const common::SnapshotBlob> blob);
  // Re-publishes the latest snapshot if `republish_s` passed since it was last sent.
  void RepublishIfDue();
  // Tells subscribers the run is over.
  void PublishRunEnded(const std::string& run_id, const std::string& reason);

  uint64_t latest_version() const { return latest_ ? latest_->version : 0; }
  uint64_t chunks_sent() const { return chunks_sent_; }

 private:
  void Send();

  common::ZmqSocket socket_;
  std::string endpoint_;
  size_t chunk_bytes_;
  double republish_s_;
  std::shared_ptr<const common::SnapshotBlob> latest_;
  common::Clock::time_point last_sent_;
  uint64_t chunks_sent_ = 0;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_WEIGHT_PUBLISHER_H_
