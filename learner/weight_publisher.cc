#include "learner/weight_publisher.h"

#include <algorithm>
#include <random>
#include <utility>

#include "common/base/logging.h"
#include "common/wire/protocol.h"

namespace rlrec::learner {

WeightPublisher::WeightPublisher(const common::ZmqContext& context, const std::string& endpoint,
                                 size_t chunk_bytes, double republish_s,
                                 const common::SocketSecurity& security, uint64_t snapshot_bytes)
    : socket_(context, ZMQ_XPUB, "weights XPUB"),
      chunk_bytes_(std::max<size_t>(8, chunk_bytes)),
      publisher_id_((uint64_t{std::random_device()()} << 32 | std::random_device()()) | 1),
      republish_s_(republish_s) {
  // Room for two answers to a join (a full snapshot and the deltas since, wants_full) per
  // subscriber, and more, in chunks that reference the snapshots (a few hundred bytes of
  // their own each); beyond that PUB drops, never blocks. Set before binding: accepted
  // connections take the queue size the socket had then.
  const uint64_t chunks = snapshot_bytes / chunk_bytes_ + 2;
  socket_.SetInt(ZMQ_SNDHWM,
                 static_cast<int>(std::clamp<uint64_t>(4 * chunks + 64, 4096, uint64_t{1} << 30)));
  socket_.SetInt(ZMQ_XPUB_VERBOSE, 1);  // every subscription, also to topics already taken
  socket_.LimitMessages(common::kMaxSendOnlyInboundBytes, 1);
  common::SecureServer(socket_, security);
  endpoint_ = socket_.Bind(endpoint);
}

void WeightPublisher::Publish(std::shared_ptr<const common::SnapshotBlob> blob) {
  const uint64_t bytes = blob->bytes.size();
  if (blob->is_delta()) {
    if (newest_ && blob->base_version != newest_->version) {
      RLREC_LOG(Warning) << "delta of version " << blob->version << " is on version "
                         << blob->base_version << ", not on the version published last ("
                         << newest_->version << "); subscribers will re-sync";
    }
    chain_.push_back(blob);
    chain_bytes_ += bytes;
    delta_bytes_ += bytes;
    ++deltas_;
    delta_bytes_since_full_ += bytes;
    ++deltas_since_full_;
  } else {
    if (deltas_since_full_ > 0) {
      const double mean = static_cast<double>(delta_bytes_since_full_) / deltas_since_full_;
      RLREC_LOG(Info) << "weights: full snapshot of version " << blob->version << ", " << bytes
                      << " bytes; the " << deltas_since_full_ << " deltas before it took "
                      << static_cast<uint64_t>(mean) << " bytes each on average ("
                      << 100.0 * mean / static_cast<double>(std::max<uint64_t>(1, bytes))
                      << "% of a full snapshot)";
    }
    // Shared through the recycler: once the chunks that read it are sent and a newer base
    // replaced it, its memory comes back for the next full snapshot (TakeSnapshotMemory).
    auto writable = std::const_pointer_cast<common::SnapshotBlob>(std::move(blob));
    base_writable_ = writable;
    blob = recycler_.Share(std::move(writable));
    base_ = blob;
    full_postponed_ = false;
    chain_.clear();
    joined_ = false;  // a full snapshot answers every join so far
    chain_bytes_ = 0;
    full_bytes_ += bytes;
    ++fulls_;
    delta_bytes_since_full_ = 0;
    deltas_since_full_ = 0;
  }
  newest_ = blob;
  Send({std::move(blob)});
}

void WeightPublisher::PublishVersion(bool full_due, const SnapshotMaker& make) {
  bool full = full_due || wants_full();
  std::shared_ptr<common::SnapshotBlob> memory;
  if (full) {
    memory = TakeSnapshotMemory();
    if (!memory && PostponeFull()) full = false;
  }
  const auto take = [&] { return memory ? std::move(memory) : TakeSnapshotMemory(); };
  for (auto& snapshot : make(full, take)) Publish(std::move(snapshot));
}

std::shared_ptr<common::SnapshotBlob> WeightPublisher::TakeSnapshotMemory() {
  // Held here only (base_, and newest_ when it is the base too; its writable self by the
  // recycler only): letting go of it hands it back to the recycler on this thread, after every
  // other reader let go.
  const long held_here = newest_ == base_ ? 2 : 1;
  if (base_ && base_.use_count() == held_here && base_writable_.use_count() == 1) {
    if (newest_ == base_) newest_.reset();
    base_.reset();
    chain_.clear();
    chain_bytes_ = 0;
  }
  return recycler_.Take();
}

bool WeightPublisher::wants_full() const {
  return base_ && (full_postponed_ || chain_bytes_ > base_->bytes.size() / 4);
}

bool WeightPublisher::PostponeFull() {
  if (!base_ || chain_bytes_ > base_->bytes.size() / 2) return false;
  full_postponed_ = true;
  return true;
}

void WeightPublisher::TakeSubscriptions() {
  // Subscriptions are one frame: 1 (or 0 to unsubscribe), then the topic.
  while (auto message = socket_.Receive(common::After(0))) {
    const auto frame = message->view(0);
    if (message->size() == 1 && !frame.empty() && frame[0] == 1) {
      ++subscriptions_;
      joined_ = true;
    }
  }
}

void WeightPublisher::RepublishIfDue() {
  TakeSubscriptions();
  if (!newest_) return;
  const double since = common::SecondsSince(last_sent_);
  // A send is given the time it takes at kAssumedBytesPerS before the next one. Joins are
  // answered at most kJoinGapS apart, so that a peer that floods subscriptions cannot make the
  // lead send more than a few snapshots a second.
  const double last_send_s = static_cast<double>(last_sent_bytes_) / kAssumedBytesPerS;
  if (joined_ && since >= std::max(kJoinGapS, last_send_s)) {
    std::vector<std::shared_ptr<const common::SnapshotBlob>> all;
    if (base_) all.push_back(base_);
    all.insert(all.end(), chain_.begin(), chain_.end());
    Send(all);
    joined_ = false;
    return;
  }
  const double newest_send_s = static_cast<double>(newest_->bytes.size()) / kAssumedBytesPerS;
  if (since >= std::max({republish_s_, 10 * newest_send_s, last_send_s})) Send({newest_});
}

void WeightPublisher::Send(const std::vector<std::shared_ptr<const common::SnapshotBlob>>& blobs) {
  uint64_t bytes = 0;
  for (const auto& blob : blobs) {
    common::ForEachWeightChunk(
        blob, chunk_bytes_, publisher_id_, [&](common::OutgoingMessage chunk) {
          // PUB never reports a full queue: it drops for slow subscribers. The deadline
          // only guards against a ZeroMQ that says otherwise.
          if (!socket_.Send(chunk, common::After(0.1))) {
            RLREC_LOG(Warning) << "weights PUB refused a chunk of version " << blob->version;
          }
          ++chunks_sent_;
        });
    bytes += blob->bytes.size();
  }
  last_sent_ = common::Clock::now();
  last_sent_bytes_ = bytes;
}

void WeightPublisher::PublishRunEnded(const std::string& run_id, const std::string& reason) {
  socket_.Send(common::EncodeRunEnded(run_id, reason), common::After(0.1));
}

}  // namespace rlrec::learner
