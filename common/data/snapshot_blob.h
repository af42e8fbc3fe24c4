#ifndef RLREC_COMMON_DATA_SNAPSHOT_BLOB_H_
#define RLREC_COMMON_DATA_SNAPSHOT_BLOB_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/data/blob_bytes.h"
#include "common/data/tensor_view.h"

namespace rlrec::common {

// One parameter of a snapshot: its name in the model, element type and shape.
struct ParamSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  size_t bytes() const;
};

// A weight snapshot as one flat blob: every parameter's bytes, concatenated in manifest
// order. Immutable once published; shared by whoever reads it. With a base version, a delta
// on that version (common/wire/snapshot_delta.h), whose manifest names changed rows.
struct SnapshotBlob {
  std::string run_id;
  uint64_t version = 0;
  uint64_t base_version = 0;    // 0: a full snapshot
  uint64_t state_checksum = 0;  // 0, or StateChecksum of the full state at `version`
  uint64_t publisher = 0;       // the learner process that published it (weights.capnp)
  std::vector<ParamSpec> manifest;
  BlobBytes bytes;  // exactly the sum of the manifest's byte counts
  bool is_delta() const { return base_version != 0; }
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_SNAPSHOT_BLOB_H_
