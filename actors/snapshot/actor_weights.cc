#include "actors/snapshot/actor_weights.h"

#include <torch/torch.h>

#include <sstream>
#include <thread>

#include "actors/snapshot/owned_files.h"
#include "common/base/logging.h"
#include "common/model/snapshot.h"

namespace rlrec::actors {

ActorWeights::ActorWeights(const common::RunConfig& config, const common::ZmqContext& context,
                           const std::string& run_id, const std::string& weights_endpoint,
                           torch::nn::Module& model, common::SocketSecurity security)
    : context_(context),
      weights_endpoint_(weights_endpoint),
      rules_{run_id, common::ManifestOf(model)},
      max_message_bytes_(
          common::MaxWeightMessageBytes(size_t(config.transport.weights_chunk_kib) << 10)),
      security_(std::move(security)),
      receiver_timeout_s_(config.actor.receiver_timeout_s),
      model_(model) {
  if (config.actor.share_snapshot) OpenSegment(config);
  if (!segment_) cache_ = MakeCache(nullptr);
}

ActorWeights::~ActorWeights() {
  // The cache writes into the segment and the reader holds a slot of it: both go first.
  cache_.reset();
  reader_.reset();
}

void ActorWeights::OpenSegment(const common::RunConfig& config) {
  const std::string name = HostSegment::NameFor(rules_.run_id, weights_endpoint_);
  // A few tries: the last actor of a run removes the folder as this one starts.
  for (int attempt = 0; attempt < 3 && !segment_; ++attempt) {
    std::string folder;
    try {
      folder = MakePrivateFolder(config.actor.shm_dir);
      if (attempt == 0) {
        if (const int stale = HostSegment::RemoveStaleSegments(folder); stale > 0) {
          RLREC_LOG(Info) << "removed " << stale << " stale shared snapshot(s) from " << folder;
        }
      }
      segment_ = HostSegment::Open(folder, name, rules_.run_id, rules_.manifest,
                                   static_cast<uint32_t>(config.actor.snapshot_copies));
    } catch (const common::Error& e) {
      if (e.kind() == common::ErrorKind::kInvalidInput) {
        ++refused_segments_;
        const bool removed = !folder.empty() && HostSegment::RemoveIfUnused(folder + "/" + name);
        RLREC_LOG(Warning) << "refused " << e.what()
                           << (removed ? "; removed it, making it afresh"
                                       : "; left where it is (in use, or not this user's)");
        if (removed) continue;
        break;
      }
      RLREC_LOG(Warning) << e.what();
      if (e.kind() != common::ErrorKind::kUnavailable) break;
    }
  }
  if (!segment_) {
    RLREC_LOG(Warning) << "acting on a private copy of the weights instead of the host's "
                          "shared snapshot";
    return;
  }
  reader_ = std::make_unique<HostSegment::Reader>(segment_);
}

std::unique_ptr<SnapshotCache> ActorWeights::MakeCache(std::shared_ptr<HostSegment> segment) const {
  return std::make_unique<SnapshotCache>(context_, weights_endpoint_, rules_, max_message_bytes_,
                                         security_, std::move(segment));
}

bool ActorWeights::run_ended() const {
  return (segment_ && segment_->run_ended()) || (cache_ && cache_->run_ended());
}

void ActorWeights::TakeReceiverRole() {
  std::string how;
  if (segment_->TryBecomeReceiver()) {
    how = segment_->readable() ? " (holding version " + std::to_string(segment_->version()) + ")"
                               : std::string();
  } else {
    // Cheap (an atomic and the clock) until the receiver is silent; then at most once a second.
    if (common::Clock::now() < next_silence_check_ ||
        segment_->ReceiverSilenceS() < receiver_timeout_s_) {
      return;
    }
    next_silence_check_ = common::After(1.0);
    std::string what;
    const bool took = segment_->TakeOverFromSilentReceiver(receiver_timeout_s_, &what);
    if (!took) {
      if (!what.empty() && silence_log_.Allow()) {
        RLREC_LOG(Warning) << what << "; this actor acts on version " << version_
                           << ", which grows stale";
      }
      return;
    }
    ++takeovers_;
    RLREC_LOG(Warning) << what;
    how = " in place of a silent receiver";
  }
  RLREC_LOG(Info) << "this actor receives the host's shared snapshot " << segment_->path() << how;
  cache_ = MakeCache(segment_);
}

bool ActorWeights::TryAcquireShared(std::optional<uint64_t> newer_than) {
  if (!segment_->receiver()) TakeReceiverRole();
  if (!reader_->TryBegin()) return false;
  const uint32_t copy = reader_->copy();
  const uint64_t version = segment_->version(copy), publisher = segment_->publisher(copy);
  if (newer_than && version <= *newer_than) {
    reader_->End();
    return false;
  }
  // A new state: checked against its seal before anything acts on it.
  const std::pair<int, uint64_t> state{static_cast<int>(copy), segment_->stamp(copy)};
  if (state != checked_) {
    std::string why;
    if (state == refused_ || !reader_->Check(&why)) {
      reader_->End();
      if (state != refused_) {
        refused_ = state;
        ++refused_states_;
        segment_->RequestRebuild();
        RLREC_LOG(Warning) << "not acting on the host's shared snapshot: " << why
                           << "; asked its receiver to check it and re-sync";
      }
      return false;
    }
    checked_ = state;
  }
  if (viewed_copy_ != static_cast<int>(copy)) {
    // Once per copy: its bytes stay where they are; only what they hold changes, between reads.
    common::ViewModelOnBytes(segment_->manifest(), version, segment_->data(copy), segment_, model_);
    viewed_copy_ = static_cast<int>(copy);
    ++swaps_;
  } else if (version != version_ || publisher != publisher_ || swaps_ == 0) {
    ++swaps_;
  }
  version_ = version;
  publisher_ = publisher;
  return true;
}

bool ActorWeights::TryAcquirePrivate(std::optional<uint64_t> newer_than) {
  auto latest = cache_->Latest();
  if (!latest || (newer_than && latest->version <= *newer_than)) return false;
  if (latest != held_) {
    common::ViewModelOnSnapshot(latest, model_);  // no copy: the model reads the snapshot
    held_ = std::move(latest);
    version_ = held_->version;
    ++swaps_;
  }
  return true;
}

bool ActorWeights::Acquire(std::optional<uint64_t> newer_than, const std::atomic<bool>& stop,
                           common::Deadline deadline) {
  for (;;) {
    if (segment_ ? TryAcquireShared(newer_than) : TryAcquirePrivate(newer_than)) return true;
    if (stop || run_ended()) return false;
    if (common::Clock::now() >= deadline) {
      throw common::Unavailable(
          (newer_than ? "no weights newer than version " + std::to_string(*newer_than)
                      : std::string("no weight snapshot")) +
          " arrived from " + weights_endpoint_ +
          (segment_ ? " (host's shared snapshot " + segment_->path() + ", " +
                          (segment_->receiver() ? "received by this actor)"
                                                : "received by another actor)")
                    : std::string()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void ActorWeights::Release() {
  if (reader_) reader_->End();
}

std::string LagWarning(uint64_t learner_version, const ActorWeights& weights, int lag_warning) {
  const uint64_t held = weights.version();
  if (learner_version < held + static_cast<uint64_t>(lag_warning)) return "";
  std::ostringstream text;
  text << "acting on snapshot " << held << ", " << learner_version - held
       << " behind the learner's " << learner_version << " (actor.lag_warning " << lag_warning
       << "); "
       << (!weights.shared()    ? "this actor's own subscription falls behind"
           : weights.receiver() ? "this actor receives the host's snapshot and falls behind"
                                : "the host's receiver falls behind");
  return text.str();
}

}  // namespace rlrec::actors
