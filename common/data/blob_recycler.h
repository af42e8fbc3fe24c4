#ifndef RLREC_COMMON_DATA_BLOB_RECYCLER_H_
#define RLREC_COMMON_DATA_BLOB_RECYCLER_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "common/data/snapshot_blob.h"

namespace rlrec::common {

// Gets the memory of weight snapshots back once nobody reads them. Share() hands out a
// snapshot to any number of readers on any thread; when the last of them lets go, the blob
// comes back here, and Take() gives it to be written again: memory already mapped fills many
// times faster than fresh pages (common/data/blob_bytes.h), which for snapshots of gigabytes is
// seconds. The hand-back goes through a mutex, so a reader's last read happens before the
// next write. Keeps the `keep` blobs that came back last and frees older ones. Thread-safe;
// snapshots shared may outlive it.
class BlobRecycler {
 public:
  explicit BlobRecycler(size_t keep = 1);

  // `blob`, read-only, for readers: it comes back here when the last copy of the result goes.
  std::shared_ptr<const SnapshotBlob> Share(std::shared_ptr<SnapshotBlob> blob);
  // A blob that came back and that nobody else holds (the caller may keep a `blob` it passed
  // to Share: such a blob is given only once the caller let it go too), or nullptr.
  std::shared_ptr<SnapshotBlob> Take();

 private:
  struct Pool {
    std::mutex mu;
    std::vector<std::shared_ptr<SnapshotBlob>> free;  // guarded by mu, oldest first
    size_t keep = 1;
  };
  std::shared_ptr<Pool> pool_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_BLOB_RECYCLER_H_
