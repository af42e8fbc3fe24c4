#ifndef RLREC_ACTORS_SNAPSHOT_ACTOR_WEIGHTS_H_
#define RLREC_ACTORS_SNAPSHOT_ACTOR_WEIGHTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "actors/snapshot/host_segment.h"
#include "actors/snapshot/snapshot_cache.h"
#include "common/base/logging.h"
#include "common/config/config.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"

namespace torch::nn {
class Module;
}

namespace rlrec::actors {

// The weights an actor's policy acts with, held still for one unroll at a time.
//
// With actor.share_snapshot (the default), they are the host's shared snapshot
// (actors/snapshot/host_segment.h) in this user's private folder of actor.shm_dir: the first actor
// of the host to find no live receiver becomes it (a SnapshotCache that writes into the segment),
// the others only map it, and every actor's model is a view of the copy readers read, so the host
// holds actor.snapshot_copies copies however many actors it runs. The model is pointed at the
// other copy when the receiver makes it active. When the receiver dies, the next actor to look
// takes over; when it has been silent for actor.receiver_timeout_s (stopped or stalled), the
// next actor to look ends it and takes over, and logs who took over from whom and why. At each
// swap to a new state, the actor checks it against its seal (HostSegment::Reader::Check) and
// does not act on one that fails: it waits, and asks the receiver to check the state and
// re-sync. A segment of the wrong size or of another run where this run's should be is refused
// (logged, counted), removed when no process holds it and made afresh; a folder or file that is
// not this user's alone (another user's, a symlink, a mode wider than 0700 or 0600) is refused
// (logged naming its owner and mode, counted) and left alone; either way, if no segment can be
// had, this actor falls back to a private cache. Without actor.share_snapshot, a private
// SnapshotCache, the model a view of its newest blob.
//
// Not thread-safe: one actor loop uses it. `context` and `model` must outlive it.
class ActorWeights {
 public:
  // Subscribes (or maps the host's segment) for run `run_id`, whose lead publishes at
  // `weights_endpoint`. Never waits for weights.
  ActorWeights(const common::RunConfig& config, const common::ZmqContext& context,
               const std::string& run_id, const std::string& weights_endpoint,
               torch::nn::Module& model, common::SocketSecurity security);
  ~ActorWeights();
  ActorWeights(const ActorWeights&) = delete;
  ActorWeights& operator=(const ActorWeights&) = delete;

  // Points the model at the newest weights and holds them until Release(): with
  // `newer_than`, waits for a version above it (lockstep runs). Any weights other than
  // those held before count as newer without it: a learner resumed from a checkpoint publishes
  // lower versions, and its weights are the ones to act with. Returns false when the run ends or
  // `stop` is set first; throws Error(kUnavailable) saying what it waited for at `deadline`.
  bool Acquire(std::optional<uint64_t> newer_than, const std::atomic<bool>& stop,
               common::Deadline deadline);
  // Lets the writer of shared weights in. Call between unrolls, after the last forward pass.
  void Release();

  // The version held (or last held); 0 before the first Acquire.
  uint64_t version() const { return version_; }
  // Times the model moved to other weights (the first included).
  uint64_t swaps() const { return swaps_; }
  bool run_ended() const;
  // Whether the host's shared snapshot is used, and whether this actor fills it.
  bool shared() const { return segment_ != nullptr; }
  bool receiver() const { return segment_ && segment_->receiver(); }
  // Deltas this actor's cache applied and refused (0 for an actor that only reads the host's
  // segment); host segments refused.
  uint64_t deltas_applied() const { return cache_ ? cache_->deltas_applied() : 0; }
  uint64_t refused_deltas() const { return cache_ ? cache_->refused_deltas() : 0; }
  uint64_t refused_segments() const { return refused_segments_; }
  // States of the host's segment not acted on because they failed their seal; silent receivers
  // this actor replaced.
  uint64_t refused_states() const { return refused_states_; }
  uint64_t takeovers() const { return takeovers_; }

 private:
  void OpenSegment(const common::RunConfig& config);
  std::unique_ptr<SnapshotCache> MakeCache(std::shared_ptr<HostSegment> segment) const;
  // Becomes the receiver when there is none, or in place of a silent one.
  void TakeReceiverRole();
  // One attempt: true when weights newer than `newer_than` are held.
  bool TryAcquireShared(std::optional<uint64_t> newer_than);
  bool TryAcquirePrivate(std::optional<uint64_t> newer_than);

  const common::ZmqContext& context_;
  const std::string weights_endpoint_;
  const common::SnapshotRules rules_;
  const size_t max_message_bytes_;
  const common::SocketSecurity security_;
  const double receiver_timeout_s_;
  torch::nn::Module& model_;
  std::shared_ptr<HostSegment> segment_;
  std::unique_ptr<HostSegment::Reader> reader_;
  std::unique_ptr<SnapshotCache> cache_;
  std::shared_ptr<const common::SnapshotBlob> held_;  // private mode
  // The copy of the segment the model views (-1: none yet); the last state checked against its
  // seal, and the last refused, as (copy, stamp).
  int viewed_copy_ = -1;
  std::pair<int, uint64_t> checked_{-1, 0}, refused_{-1, 0};

  common::Clock::time_point next_silence_check_{};
  common::LogLimiter silence_log_{1, 30.0};  // a silent receiver that cannot be replaced
  uint64_t version_ = 0, publisher_ = 0, swaps_ = 0, refused_segments_ = 0;
  uint64_t refused_states_ = 0, takeovers_ = 0;
};

// The warning an actor logs when the snapshot `weights` holds is `lag_warning` or more versions
// behind the learner's newest, `learner_version` (0: unknown), naming who fills that snapshot
// (this actor's own subscription, this actor as the host's receiver, or another receiver);
// "" when it is not that far behind.
std::string LagWarning(uint64_t learner_version, const ActorWeights& weights, int lag_warning);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_ACTOR_WEIGHTS_H_
