#include "actors/actor_weights.h"

#include <torch/torch.h>

#include <thread>

#include "common/logging.h"
#include "common/snapshot.h"

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
  const std::string& dir = config.actor.shm_dir;
  if (const int stale = HostSegment::RemoveStaleSegments(dir); stale > 0) {
    RLREC_LOG(Info) << "removed " << stale << " stale shared snapshot(s) from " << dir;
  }
  const std::string name = HostSegment::NameFor(rules_.run_id, weights_endpoint_);
  for (int attempt = 0; attempt < 2 && !segment_; ++attempt) {
    try {
      segment_ = HostSegment::Open(dir, name, rules_.run_id, rules_.manifest);
    } catch (const common::Error& e) {
      if (e.kind() == common::ErrorKind::kInvalidInput) {
        ++refused_segments_;
        const bool removed = HostSegment::RemoveIfUnused(dir + "/" + name);
        RLREC_LOG(Warning) << "refused " << e.what()
                           << (removed ? "; removed it, making it afresh"
                                       : "; it is in use, so it stays");
        if (removed) continue;
      } else {
        RLREC_LOG(Warning) << e.what();
      }
      break;
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

bool ActorWeights::TryAcquireShared(std::optional<uint64_t> newer_than) {
  if (!segment_->receiver() && segment_->TryBecomeReceiver()) {
    RLREC_LOG(Info) << "this actor receives the host's shared snapshot " << segment_->path()
                    << (segment_->readable()
                            ? " (holding version " + std::to_string(segment_->version()) + ")"
                            : std::string());
    cache_ = MakeCache(segment_);
  }
  if (!reader_->TryBegin()) return false;
  const uint64_t version = segment_->version(), publisher = segment_->publisher();
  if (newer_than && version <= *newer_than) {
    reader_->End();
    return false;
  }
  if (!viewing_segment_) {
    // Once: the segment's bytes stay where they are; only what they hold changes, between reads.
    common::ViewModelOnBytes(segment_->manifest(), version, segment_->data(), segment_, model_);
    viewing_segment_ = true;
  }
  if (version != version_ || publisher != publisher_ || swaps_ == 0) {
    version_ = version;
    publisher_ = publisher;
    ++swaps_;
  }
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

}  // namespace rlrec::actors
