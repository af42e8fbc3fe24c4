#include "common/data/blob_recycler.h"

#include <utility>

namespace rlrec::common {

BlobRecycler::BlobRecycler(size_t keep) : pool_(std::make_shared<Pool>()) { pool_->keep = keep; }

std::shared_ptr<const SnapshotBlob> BlobRecycler::Share(std::shared_ptr<SnapshotBlob> blob) {
  SnapshotBlob* raw = blob.get();
  return std::shared_ptr<const SnapshotBlob>(
      raw, [pool = pool_, owned = std::move(blob)](const SnapshotBlob*) mutable {
        std::shared_ptr<SnapshotBlob> back = std::move(owned);
        std::lock_guard<std::mutex> lock(pool->mu);
        pool->free.push_back(std::move(back));
        while (pool->free.size() > pool->keep) pool->free.erase(pool->free.begin());
      });
}

std::shared_ptr<SnapshotBlob> BlobRecycler::Take() {
  std::lock_guard<std::mutex> lock(pool_->mu);
  for (auto it = pool_->free.rbegin(); it != pool_->free.rend(); ++it) {
    // The pool's reference only: every reader let go through Share's result, and the blob's
    // maker does not hold it. A maker holding it does so on its own thread, the one calling.
    if (it->use_count() == 1) {
      std::shared_ptr<SnapshotBlob> blob = std::move(*it);
      pool_->free.erase(std::next(it).base());
      return blob;
    }
  }
  return nullptr;
}

}  // namespace rlrec::common
