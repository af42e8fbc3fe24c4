#include "actors/snapshot/snapshot_cache.h"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

#include "common/base/logging.h"
#include "common/data/blob_recycler.h"
#include "common/wire/snapshot_delta.h"

namespace rlrec::actors {

using common::After;

// What a store holds: `any` false for nothing (then version and publisher are 0).
struct HeldVersion {
  bool any = false;
  uint64_t version = 0, publisher = 0;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // What is held. The receiving thread's own.
  virtual HeldVersion Held() const = 0;
  // Applies a delta on the state held (there is one), or throws Error saying why not (what was
  // held stays held, or, when the rebuilt state missed the learner's checksum, nothing is held).
  virtual void ApplyDelta(const common::SnapshotBlob& delta) = 0;
  // Holds a full snapshot from now on; throws Error when it cannot (what was held stays held).
  virtual void TakeFull(std::shared_ptr<common::SnapshotBlob> full) = 0;
  // Memory a full snapshot may be assembled into, or nullptr.
  virtual std::shared_ptr<common::SnapshotBlob> Spare() = 0;
  // The newest snapshot for readers of this process, when the store keeps it as a blob.
  virtual std::shared_ptr<const common::SnapshotBlob> Latest() const { return nullptr; }
  virtual void MarkRunEnded() {}
  // The receiving thread's first turn, and its turn at least every 0.1 s after (Tend): Tend
  // returns true when the state held was found damaged and a re-sync is wanted.
  virtual void Recover() {}
  virtual bool Tend() { return false; }
};

namespace {

// The state in this process's memory: immutable blobs, the newest shared with readers.
class PrivateStore : public SnapshotStore {
 public:
  HeldVersion Held() const override {
    const auto held = Latest();
    return held ? HeldVersion{true, held->version, held->publisher} : HeldVersion{};
  }
  void ApplyDelta(const common::SnapshotBlob& delta) override {
    const auto held = Latest();
    std::shared_ptr<common::SnapshotBlob> rebuilt = recycler_.Take();
    if (!rebuilt) rebuilt = std::make_shared<common::SnapshotBlob>();
    try {
      common::ApplyDeltaInto(*held, delta, *rebuilt);
    } catch (const common::Error&) {
      recycler_.Share(std::move(rebuilt));  // shared with nobody: straight back, for its memory
      throw;
    }
    TakeFull(std::move(rebuilt));
  }
  void TakeFull(std::shared_ptr<common::SnapshotBlob> full) override {
    // Every blob held here was made here (assembled or rebuilt), writable: its memory comes
    // back to the recycler when the last reader lets go of it.
    auto next = recycler_.Share(std::move(full));
    std::lock_guard<std::mutex> lock(mu_);
    latest_ = std::move(next);
  }
  std::shared_ptr<common::SnapshotBlob> Spare() override { return recycler_.Take(); }
  std::shared_ptr<const common::SnapshotBlob> Latest() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return latest_;
  }

 private:
  // Snapshots are rebuilt and assembled into the memory of one that no reader holds any more.
  common::BlobRecycler recycler_{1};
  mutable std::mutex mu_;
  std::shared_ptr<const common::SnapshotBlob> latest_;  // guarded by mu_
};

// The state in a host segment: full snapshots assembled into the copy readers do not read (with
// two copies; in place with one), deltas applied in place on the active copy while its readers
// wait between unrolls. Made, used and let go of on the receiving thread.
class SegmentStore : public SnapshotStore {
 public:
  SegmentStore(std::shared_ptr<HostSegment> segment, const std::atomic<bool>& stop)
      : segment_(std::move(segment)), stop_(stop) {}

  HeldVersion Held() const override {
    if (!segment_->readable()) return {};
    return {true, segment_->version(), segment_->publisher()};
  }
  void ApplyDelta(const common::SnapshotBlob& delta) override {
    const uint32_t copy = segment_->active();
    const common::HeldState held{segment_->run_id(), segment_->version(copy),
                                 segment_->publisher(copy), segment_->manifest(),
                                 segment_->bytes()};
    common::CheckDeltaApplies(held, delta);  // before readers are made to wait
    BeginWrite(copy, delta.version);
    HostSegment::Ranges written;
    try {
      common::ApplyDeltaInPlace(
          held, delta, segment_->mutable_data(copy),
          [&](size_t offset, size_t bytes) { written.emplace_back(offset, bytes); });
    } catch (...) {
      segment_->AbandonWrite();  // half-applied: nobody reads it
      FallBack("delta of version " + std::to_string(delta.version) + " left copy " +
               std::to_string(copy) + " holding neither version");
      throw;
    }
    segment_->EndWrite(copy, delta.version, delta.publisher, &written);
  }
  void TakeFull(std::shared_ptr<common::SnapshotBlob> full) override {
    if (spare_copy_ && full->bytes.data() == segment_->mutable_data(*spare_copy_)) {
      const uint32_t copy = *spare_copy_;  // assembled there (Spare), and checked
      spare_copy_.reset();
      segment_->EndWrite(copy, full->version, full->publisher);
      return;
    }
    if (full->bytes.size() != segment_->bytes()) {
      throw common::InvalidInput("snapshot version " + std::to_string(full->version) + " holds " +
                                 std::to_string(full->bytes.size()) + " bytes, the segment " +
                                 std::to_string(segment_->bytes()));
    }
    const uint32_t copy = Target();
    BeginWrite(copy, full->version);
    if (!full->bytes.empty()) {
      std::memcpy(segment_->mutable_data(copy), full->bytes.data(), full->bytes.size());
    }
    segment_->EndWrite(copy, full->version, full->publisher);
  }  // `full` goes: this process holds no copy of the model besides the segment's
  // The copy readers do not read (the only one, with one copy), for a full snapshot to be
  // assembled in: the host never holds another copy of the model. A blob that goes before
  // TakeFull took it (a lost chunk, a newer version, a refusal) leaves that copy unreadable:
  // with two, readers stay on theirs; with one, nothing is readable until the next full
  // snapshot. nullptr when readers do not let go of it in time.
  std::shared_ptr<common::SnapshotBlob> Spare() override {
    if (spare_copy_) return nullptr;
    const uint32_t copy = Target();
    if (!segment_->BeginWrite(copy, After(SnapshotCache::kWriteWaitS), stop_)) return nullptr;
    spare_copy_ = copy;
    std::shared_ptr<common::SnapshotBlob> blob(new common::SnapshotBlob,
                                               [this](common::SnapshotBlob* unused) {
                                                 delete unused;
                                                 if (!spare_copy_) return;
                                                 segment_->AbandonWrite();
                                                 spare_copy_.reset();
                                               });
    blob->bytes = common::BlobBytesOver(segment_->mutable_data(copy), segment_->bytes());
    return blob;
  }
  void MarkRunEnded() override { segment_->MarkRunEnded(); }
  void Recover() override {
    segment_->Heartbeat();
    if (segment_->ClearStrayWriter()) {
      RLREC_LOG(Warning) << "cleared a write left unfinished in " << segment_->path()
                         << " by a process that is not this receiver";
    }
    rebuilds_seen_ = segment_->rebuild_requests();
    CheckActive("this actor took the receiver role");
  }
  bool Tend() override {
    segment_->Heartbeat();
    segment_->ClearStrayWriter();
    if (segment_->rebuild_requests() == rebuilds_seen_) return false;
    rebuilds_seen_ = segment_->rebuild_requests();
    return CheckActive("a reader found the state or its writer impossible");
  }

 private:
  // Where a full snapshot goes: the copy readers do not read, or the only one.
  uint32_t Target() const { return segment_->copies() == 2 ? 1 - segment_->active() : 0; }

  void BeginWrite(uint32_t copy, uint64_t version) {
    if (!segment_->BeginWrite(copy, After(SnapshotCache::kWriteWaitS), stop_)) {
      throw common::Unavailable("readers of " + segment_->path() + " kept reading for " +
                                std::to_string(SnapshotCache::kWriteWaitS) + " s; version " +
                                std::to_string(version) + " dropped");
    }
  }

  // Checks the active copy whole; when it does not match its seal, drops it and falls back on
  // the other. Returns whether a re-sync is wanted (the copy held was lost or is older).
  bool CheckActive(const std::string& reason) {
    const uint32_t copy = segment_->active();
    segment_->Activate(copy);  // a value out of range in the header reads as copy 0
    if (spare_copy_ == copy) return false;
    std::string why;
    if (!segment_->readable(copy)) {
      // Nothing there (a fresh segment, or a write that died): the other copy, when whole.
      if (segment_->copies() == 2 && segment_->readable(1 - copy)) {
        FallBack("copy " + std::to_string(copy) + " of " + segment_->path() + " is unreadable (" +
                 reason + ")");
        return true;
      }
      return false;
    }
    if (segment_->CheckWhole(copy, &why)) {
      RLREC_LOG(Info) << "checked " << segment_->path() << " whole (" << reason << "): version "
                      << segment_->version(copy) << " matches its seal";
      return false;
    }
    segment_->Discard(copy);
    FallBack(why + " (" + reason + ")");
    return true;
  }

  // The active copy is lost (`what`): makes the other one active when it is whole.
  void FallBack(const std::string& what) {
    const uint32_t lost = segment_->active();
    std::string why;
    if (segment_->copies() == 2 && spare_copy_ != 1 - lost &&
        segment_->CheckWhole(1 - lost, &why)) {
      segment_->Activate(1 - lost);
      RLREC_LOG(Warning) << what << "; the host's actors act on version "
                         << segment_->version(1 - lost) << " of the other copy until a re-sync";
    } else {
      RLREC_LOG(Warning) << what << "; nothing readable in " << segment_->path()
                         << " until a re-sync";
    }
  }

  std::shared_ptr<HostSegment> segment_;
  const std::atomic<bool>& stop_;
  std::optional<uint32_t> spare_copy_;  // a blob from Spare() is being assembled there
  uint64_t rebuilds_seen_ = 0;
};

}  // namespace

SnapshotCache::SnapshotCache(const common::ZmqContext& context, const std::string& weights_endpoint,
                             common::SnapshotRules rules, size_t max_message_bytes,
                             common::SocketSecurity security, std::shared_ptr<HostSegment> segment)
    : rules_(std::move(rules)),
      max_message_bytes_(max_message_bytes),
      security_(std::move(security)) {
  if (segment) {
    store_ = std::make_unique<SegmentStore>(std::move(segment), stop_);
  } else {
    store_ = std::make_unique<PrivateStore>();
  }
  // The thread makes and owns the socket: a ZeroMQ socket belongs to one thread.
  thread_ = std::thread(&SnapshotCache::Receive, this, std::cref(context), weights_endpoint);
}

SnapshotCache::~SnapshotCache() {
  stop_ = true;
  thread_.join();
}

std::shared_ptr<const common::SnapshotBlob> SnapshotCache::Latest() const {
  return store_->Latest();
}

void SnapshotCache::Handle(const std::shared_ptr<const common::Multipart>& message,
                           common::SnapshotAssembler& assembler) {
  const auto topic = message->view(0);
  if (topic == common::kWeightsTopic) {
    auto blob = assembler.Add(message);
    if (!blob) return;
    const HeldVersion held = store_->Held();
    try {
      common::CheckSnapshotFinite(*blob);  // a delta's own values: the base was checked
    } catch (const common::Error&) {
      ++refused_snapshots_;
      assembler.SetHeldVersion(held.version, held.publisher);
      resync_wanted_ = true;  // the learner's own snapshot may come whole the next time
      throw;
    }
    const bool delta = blob->is_delta();
    if (delta && (blob->base_version != held.version || blob->publisher != held.publisher) &&
        joining_ && common::SecondsSince(subscribed_at_) < join_window_s_) {
      // Just (re)subscribed: live deltas can overtake the learner's answer to the subscription
      // (its full snapshot and the deltas since, which include this one). Wait for it.
      assembler.SetHeldVersion(held.version, held.publisher);
      ++skipped_at_join_;
      return;
    }
    try {
      if (delta) {
        if (!held.any) {
          throw common::InvalidInput("delta of version " + std::to_string(blob->version) +
                                     " arrived before any full snapshot; re-syncing");
        }
        store_->ApplyDelta(*blob);
      } else {
        // Every blob assembled here is this thread's, writable.
        store_->TakeFull(std::const_pointer_cast<common::SnapshotBlob>(std::move(blob)));
      }
    } catch (const common::Error&) {
      if (delta) ++refused_deltas_;
      const HeldVersion now = store_->Held();
      assembler.SetHeldVersion(now.version, now.publisher);
      resync_wanted_ = true;
      throw;
    }
    if (delta) ++deltas_applied_;
    ++snapshots_received_;
    joining_ = false;  // the learner's answer has begun to arrive, or was not needed
  } else if (topic == common::kRunEndedTopic) {
    const common::RunEnded ended = common::DecodeRunEnded(message);
    if (!rules_.run_id.empty() && ended.run_id != rules_.run_id) {
      throw common::InvalidInput("run-ended message of run '" + common::Printable(ended.run_id) +
                                 "', this actor is in run '" + rules_.run_id + "'");
    }
    // The learner says it a few times over (PUB may drop): once in the log.
    if (!run_ended_) {
      RLREC_LOG(Info) << "learner ended the run: " << common::Printable(ended.reason, 200);
    }
    store_->MarkRunEnded();
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
  // A few chunks queue here, not a snapshot's worth: when this thread assembles more slowly
  // than loopback delivers (pages of a fresh segment fault in at a few hundred MB/s on a
  // virtual machine), TCP holds the learner back, whose queue of chunks (references to its
  // snapshot, WeightPublisher) fits whole snapshots: nothing is dropped, and the host's memory
  // holds at most kQueuedChunkBytes of chunks.
  const uint64_t chunk = max_bytes > (size_t{128} << 10) ? max_bytes - (size_t{64} << 10) : 4096;
  socket->SetInt(ZMQ_RCVHWM, static_cast<int>(std::clamp<uint64_t>(
                                 SnapshotCache::kQueuedChunkBytes / chunk, 16, 4096)));
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
    join_window_s_ = std::max(kResubscribeAfterS, resync_gap_s);
    // The learner re-sends its newest snapshot at least every 10 times the time it takes at
    // 1 GB/s (WeightPublisher): a quiet socket is a lost one only after longer than that.
    const double resubscribe_after_s =
        kResubscribeAfterS + 10.0 * static_cast<double>(snapshot_bytes) / 1e9;
    auto last_resync = common::Clock::now() - std::chrono::hours(1);
    std::unique_ptr<common::ZmqSocket> socket =
        Subscribe(context, endpoint, max_message_bytes_, security_);
    subscribed_at_ = common::Clock::now();
    joining_ = true;
    auto last_message = common::Clock::now();
    common::SnapshotAssembler assembler(rules_, [this] { return store_->Spare(); });
    // A host segment may hold a version already (its receiver before this one wrote it).
    store_->Recover();
    const HeldVersion held = store_->Held();
    if (held.any) assembler.SetHeldVersion(held.version, held.publisher);
    common::LogLimiter log_limiter;
    uint64_t oversized = 0, messages_since_trim = 0;
    while (!stop_) {
      if (store_->Tend()) {
        const HeldVersion now = store_->Held();
        assembler.SetHeldVersion(now.version, now.publisher);
        resync_wanted_ = true;
      }
      if (resync_wanted_ && !assembler.assembling_full() &&
          common::SecondsSince(last_resync) >= resync_gap_s) {
        // A subscription again, on the same connection: the learner sees a join and sends
        // its latest full snapshot and the deltas since.
        socket->SetBytes(ZMQ_SUBSCRIBE, common::kWeightsTopic);
        resync_wanted_ = false;
        last_resync = subscribed_at_ = common::Clock::now();
        joining_ = true;
        ++resyncs_;
      }
      std::shared_ptr<const common::Multipart> message = socket->Receive(After(0.1));
      if (socket->oversized() != oversized) {
        malformed_ += socket->oversized() - oversized;
        oversized = socket->oversized();
      }
      if (!message) {
        if (messages_since_trim >= kTrimAfterMessages) {
          // A quiet moment after a burst (a full snapshot, wanted or not, passes through
          // ZeroMQ's buffers): give the heap it left back to the system.
          malloc_trim(0);
          messages_since_trim = 0;
        }
        if (common::SecondsSince(last_message) >= resubscribe_after_s) {
          RLREC_LOG(Warning) << "no weights message from " << endpoint << " for "
                             << resubscribe_after_s << " s; subscribing afresh";
          socket = Subscribe(context, endpoint, max_message_bytes_, security_);
          subscribed_at_ = common::Clock::now();
          joining_ = true;
          oversized = 0;
          last_message = common::Clock::now();
          ++resubscriptions_;
        }
        continue;
      }
      last_message = common::Clock::now();
      ++messages_since_trim;
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
