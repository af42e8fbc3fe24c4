#ifndef RLREC_ACTORS_SNAPSHOT_SNAPSHOT_CACHE_H_
#define RLREC_ACTORS_SNAPSHOT_SNAPSHOT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "actors/snapshot/host_segment.h"
#include "common/base/deadline.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/weights_codec.h"

namespace rlrec::actors {

// Where a SnapshotCache keeps the state it receives (snapshot_cache.cc: private memory or a
// host segment).
class SnapshotStore;

// Subscribes to the lead learner's weight snapshots on a thread of its own and keeps the
// newest complete one. Readers take it with Latest() at an unroll boundary; a snapshot is
// immutable, so readers never see one change under them. Also notices the end of the run.
//
// With a `segment` (actors/snapshot/host_segment.h, whose receiver role the caller holds), it keeps
// the state there instead, for every actor of the host, and Latest() stays null: deltas are applied
// in place on the copy readers read (checked whole first; a delta is a write of the rows that
// changed), full snapshots are assembled from their first chunk into the other copy (with one copy,
// in place: readers wait for the last chunk; only at a join or a re-sync) and made the one readers
// read once whole and checked, and both wait for the segment's readers of the copy written to
// finish their unrolls, at most kWriteWaitS (else a delta is refused and a re-sync asked, and a
// full snapshot is assembled in private memory and copied in). The receiver holds no copy of the
// model besides the segment's. A full snapshot refused or left unfinished leaves readers on the
// copy they read (with one copy: nothing readable until a full snapshot completes); a delta whose
// rebuilt state misses the learner's checksum hands them the other copy when it is whole. The
// thread stamps the segment's heartbeat at least every 0.1 s, and when a reader asks (a state that
// failed its seal, a writer that is not the receiver) it checks the copy read whole, drops it when
// it does not match and re-syncs.
//
// Deltas (common/wire/snapshot_delta.h) are applied on the snapshot held, into a new one, only when
// they are on exactly its version. A delta on another version (one was missed), one that does
// not fit the model, or whose rebuilt state does not match the learner's checksum is refused
// and counted (so is a full snapshot holding non-finite values), and the cache asks the
// learner to re-sync: it subscribes again on the same
// connection, and the learner answers with its latest full snapshot and the deltas since. It
// asks at most once per kResyncGapS plus the time a full snapshot takes at 1 GB/s, and not
// while a full snapshot is arriving. After it subscribes and until it takes a snapshot or a
// delta (at most kResubscribeAfterS, or that gap if longer), deltas not on its version are
// skipped instead (skipped_at_join): live ones may overtake the learner's answer to the
// subscription, which brings them again.
//
// It trusts nothing it receives: messages over `max_message_bytes`, malformed or corrupted
// chunks, chunks of another run or of a model other than `rules` describes, and snapshots
// holding NaN or infinity are dropped and counted, and the current snapshot stays; no
// message, however crafted, stops the thread. Only a run-ended message of the rules' run
// ends the run. With `security`, it subscribes over CURVE with the run's client keys.
// ZeroMQ drops the connection of a publisher that sends an oversized frame and
// does not reconnect; the learner re-publishes every few seconds (a snapshot of gigabytes no
// more often than 10 times its time at 1 GB/s), so after kResubscribeAfterS (plus that time)
// without a message the cache connects afresh. Thread-safe. `context` must outlive this
// object.
class SnapshotCache {
 public:
  static constexpr double kResubscribeAfterS = 5.0;
  static constexpr double kResyncGapS = 1.0;
  static constexpr double kWriteWaitS = 30.0;
  // Messages after which the receiving thread, once idle, returns freed heap to the system.
  static constexpr uint64_t kTrimAfterMessages = 64;
  // About the most bytes of chunks that wait in the weights socket (at least 16 chunks).
  static constexpr uint64_t kQueuedChunkBytes = uint64_t{64} << 20;

  SnapshotCache(const common::ZmqContext& context, const std::string& weights_endpoint,
                common::SnapshotRules rules = {},
                size_t max_message_bytes = common::MaxWeightMessageBytes(size_t{1} << 30),
                common::SocketSecurity security = {},
                std::shared_ptr<HostSegment> segment = nullptr);
  // Stops and joins the receiving thread (within about 100 ms).
  ~SnapshotCache();
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // The newest complete snapshot, or nullptr before the first one arrived (always, with a
  // segment).
  std::shared_ptr<const common::SnapshotBlob> Latest() const;

  // True once the learner announced the end of the run.
  bool run_ended() const { return run_ended_.load(); }
  // Complete snapshots received, messages dropped (malformed, corrupted, foreign, oversized),
  // complete snapshots refused (non-finite values).
  uint64_t snapshots_received() const { return snapshots_received_.load(); }
  uint64_t malformed() const { return malformed_.load(); }
  uint64_t refused_snapshots() const { return refused_snapshots_.load(); }
  // Times the subscription was made afresh after a silence.
  uint64_t resubscriptions() const { return resubscriptions_.load(); }
  // Deltas applied; deltas refused (missed version, wrong sizes, checksum); re-syncs asked.
  uint64_t deltas_applied() const { return deltas_applied_.load(); }
  uint64_t refused_deltas() const { return refused_deltas_.load(); }
  uint64_t resyncs() const { return resyncs_.load(); }
  // Deltas dropped just after a subscription, not on the version held: live ones that overtook
  // the learner's answer to the subscription, which brings them again. Neither refused nor
  // followed by a re-sync.
  uint64_t skipped_at_join() const { return skipped_at_join_.load(); }

 private:
  void Receive(const common::ZmqContext& context, std::string endpoint);
  // Handles one message; throws what is wrong with it.
  void Handle(const std::shared_ptr<const common::Multipart>& message,
              common::SnapshotAssembler& assembler);

  const common::SnapshotRules rules_;
  const size_t max_message_bytes_;
  const common::SocketSecurity security_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> run_ended_{false};
  std::atomic<uint64_t> snapshots_received_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> refused_snapshots_{0};
  std::atomic<uint64_t> resubscriptions_{0};
  std::atomic<uint64_t> deltas_applied_{0};
  std::atomic<uint64_t> refused_deltas_{0};
  std::atomic<uint64_t> resyncs_{0};
  std::atomic<uint64_t> skipped_at_join_{0};
  // The receiving thread's own: a re-sync to ask for; when the subscription was made, and
  // whether nothing was taken since (the learner's answer, its full snapshot and the deltas
  // since, is awaited until something is, for at most join_window_s_).
  bool resync_wanted_ = false;
  bool joining_ = false;
  common::Clock::time_point subscribed_at_;
  double join_window_s_ = 0;
  std::unique_ptr<SnapshotStore> store_;
  std::thread thread_;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_SNAPSHOT_CACHE_H_
