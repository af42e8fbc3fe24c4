#ifndef RLREC_LEARNER_WEIGHT_PUBLISHER_H_
#define RLREC_LEARNER_WEIGHT_PUBLISHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/data/blob_recycler.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/weights_codec.h"

namespace rlrec::learner {

// The lead learner's weights socket (XPUB, verbose: it sees every subscription). Publishes
// snapshots in chunks: full ones, and deltas (common/wire/snapshot_delta.h), each on the version
// published just before it. It keeps the latest full snapshot and the deltas since: when a
// subscriber joins or asks to re-sync (it subscribes again, SnapshotCache), it sends them all,
// in order, so that the subscriber rebuilds the newest version. Every `republish_s` it sends
// the newest one again, so that an actor that lost a chunk of it catches up. A send too large
// to make in a moment is made no more often than its size allows: a join waits until the
// previous send had time to reach the subscribers (at kAssumedBytesPerS), and the periodic
// re-publish takes at most a tenth of that bandwidth. Publishing never blocks: PUB drops
// messages for subscribers that do not keep up, and they re-sync. Not thread-safe.
class WeightPublisher {
 public:
  // What one subscriber is assumed to take per second on the learner's network.
  static constexpr double kAssumedBytesPerS = 1e9;
  // Least time between two sends answering joins.
  static constexpr double kJoinGapS = 0.25;

  // With `security`, a CURVE server that only the run's clients reach (common::ZapHandler).
  // `snapshot_bytes`, a full snapshot's size, sizes each subscriber's queue: two joins'
  // answers (a full snapshot and the deltas since, wants_full) fit in it. ZeroMQ sizes a
  // connection's queue when it is accepted, from the options the socket had when it was bound:
  // the size must be known here.
  WeightPublisher(const common::ZmqContext& context, const std::string& endpoint,
                  size_t chunk_bytes, double republish_s,
                  const common::SocketSecurity& security = {}, uint64_t snapshot_bytes = 0);

  const std::string& endpoint() const { return endpoint_; }
  // This publisher's id on every chunk (weights.capnp), drawn at random when it is made.
  uint64_t publisher_id() const { return publisher_id_; }

  // Publishes `blob` now. A full snapshot becomes the base that joins get; a delta must be on
  // the version published last, and joins get it after the base.
  void Publish(std::shared_ptr<const common::SnapshotBlob> blob);
  // Makes what a version publishes: a full snapshot when `full` (written into `memory()`'s
  // blob when it gives one), else a delta, or a delta and then a full snapshot
  // (Trainer::SnapshotsToPublish).
  using SnapshotMaker = std::function<std::vector<std::shared_ptr<const common::SnapshotBlob>>(
      bool full, const std::function<std::shared_ptr<common::SnapshotBlob>()>& memory)>;
  // Publishes the next version: decides whether it is full (`full_due`, or wants_full()), finds
  // the memory a full one is written into (the latest full snapshot's, or one nothing reads
  // any more: TakeSnapshotMemory), postpones it while a queued message still reads the last
  // one and deltas may stand in (PostponeFull: no third copy of the model in the process),
  // has `make` make the snapshots and publishes them in order.
  void PublishVersion(bool full_due, const SnapshotMaker& make);
  // Takes subscriptions; sends the base and its deltas when a subscriber joined, and the
  // newest snapshot when `republish_s` passed since it was last sent (both paced by size).
  void RepublishIfDue();
  // True when the deltas kept since the base (for joins) weigh more than a quarter of the
  // base, or a full snapshot was postponed: the next snapshot published should be full.
  bool wants_full() const;
  // For a caller that could not take the base's memory (TakeSnapshotMemory gave nullptr: a
  // subscriber's queue still reads it): returns true, and remembers that a full snapshot is
  // due (wants_full), when the caller should publish a delta only for now rather than a full
  // snapshot in memory of its own, a third copy of the model in the process. Only while the
  // deltas since the base weigh at most half of it: a lead holds at most that much in deltas.
  bool PostponeFull();
  // Memory for the next full snapshot (SnapshotFromModel's `reuse`), which the caller is about
  // to publish: the latest full snapshot's own, when no queued message and no caller reads it
  // any more (the publisher lets go of it and of the deltas on it: a lead holds one full
  // snapshot besides its weights); else a full snapshot that a newer one replaced and that
  // nothing reads any more; else nullptr. Full snapshots published must be made writable
  // (std::make_shared<SnapshotBlob>), as SnapshotFromModel makes them.
  std::shared_ptr<common::SnapshotBlob> TakeSnapshotMemory();
  // Tells subscribers the run is over.
  void PublishRunEnded(const std::string& run_id, const std::string& reason);

  uint64_t latest_version() const { return newest_ ? newest_->version : 0; }
  uint64_t chunks_sent() const { return chunks_sent_; }
  // Bytes of the snapshots published (not re-sent): full ones and deltas, and how many.
  uint64_t full_bytes() const { return full_bytes_; }
  uint64_t fulls() const { return fulls_; }
  uint64_t delta_bytes() const { return delta_bytes_; }
  uint64_t deltas() const { return deltas_; }
  // Subscriptions seen (a subscriber subscribes to each topic it reads).
  uint64_t subscriptions() const { return subscriptions_; }

 private:
  // Sends `blobs` in order.
  void Send(const std::vector<std::shared_ptr<const common::SnapshotBlob>>& blobs);
  void TakeSubscriptions();  // never waits

  common::ZmqSocket socket_;
  std::string endpoint_;
  size_t chunk_bytes_;
  uint64_t publisher_id_;  // drawn at random: this learner process, on every chunk
  double republish_s_;
  std::shared_ptr<const common::SnapshotBlob> base_;   // the latest full one
  std::weak_ptr<common::SnapshotBlob> base_writable_;  // base_ as published: callers may hold it
  common::BlobRecycler recycler_{1};  // full snapshots' memory, back when nobody reads it
  std::vector<std::shared_ptr<const common::SnapshotBlob>> chain_;  // deltas since base_
  uint64_t chain_bytes_ = 0;
  std::shared_ptr<const common::SnapshotBlob> newest_;
  common::Clock::time_point last_sent_;
  uint64_t last_sent_bytes_ = 0;
  uint64_t full_bytes_ = 0, fulls_ = 0, delta_bytes_ = 0, deltas_ = 0;
  uint64_t deltas_since_full_ = 0, delta_bytes_since_full_ = 0;
  uint64_t chunks_sent_ = 0;
  bool full_postponed_ = false;
  uint64_t subscriptions_ = 0;
  bool joined_ = false;  // a subscriber joined since the latest send
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_WEIGHT_PUBLISHER_H_
