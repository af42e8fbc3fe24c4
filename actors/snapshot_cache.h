#ifndef RLREC_ACTORS_SNAPSHOT_CACHE_H_
#define RLREC_ACTORS_SNAPSHOT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/weights_codec.h"
#include "common/zmq_socket.h"

namespace rlrec::actors {

// Subscribes to the lead learner's weight snapshots on a thread of its own and keeps the
// newest complete one. Readers take it with Latest() at an unroll boundary; a snapshot is
// immutable, so readers never see one change under them. Also notices the end of the run.
// Thread-safe. `context` must outlive this object.
class SnapshotCache {
 public:
  SnapshotCache(const common::ZmqContext& context, const std::string& weights_endpoint);
  // Stops and joins the receiving thread (within about 100 ms).
  ~SnapshotCache();
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  // The newest complete snapshot, or nullptr before the first one arrived.
  std::shared_ptr<const common::SnapshotBlob> Latest() const;

  // True once the learner announced the end of the run.
  bool run_ended() const { return run_ended_.load(); }
  // Complete snapshots received, malformed messages dropped.
  uint64_t snapshots_received() const { return snapshots_received_.load(); }
  uint64_t malformed() const { return malformed_.load(); }

 private:
  void Receive(const common::ZmqContext& context, std::string endpoint);

  std::atomic<bool> stop_{false};
  std::atomic<bool> run_ended_{false};
  std::atomic<uint64_t> snapshots_received_{0};
  std::atomic<uint64_t> malformed_{0};
  mutable std::mutex mu_;
  std::shared_ptr<const common::SnapshotBlob> latest_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_CACHE_H_
