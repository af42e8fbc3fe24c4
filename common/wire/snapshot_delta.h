#ifndef RLREC_COMMON_WIRE_SNAPSHOT_DELTA_H_
#define RLREC_COMMON_WIRE_SNAPSHOT_DELTA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/data/snapshot_blob.h"

namespace rlrec::common {

// Delta snapshots. A delta of version v on base version b (SnapshotBlob::base_version = b,
// never 0) holds what changed from b to v: every tensor of the full manifest in order, except
// that a 2-D tensor "N" of R rows may be replaced by two entries, "N#rows" (int64 [n], the
// changed row ids, 0 <= id < R, n <= R) then "N#values" (the dtype of N, [n, columns of N], the
// new rows in the same order). Tensors not replaced are whole. A receiver that holds exactly
// version b rebuilds version v with ApplyDelta; any other receiver must re-sync from a full
// snapshot.
inline constexpr char kDeltaRowsSuffix[] = "#rows";
inline constexpr char kDeltaValuesSuffix[] = "#values";

// The most bytes a delta on a full snapshot of `full` may take: every tensor whole, plus a row
// id for every row of every 2-D tensor.
uint64_t MaxDeltaBytes(const std::vector<ParamSpec>& full);

// Throws Error(kInvalidInput), naming the entry, unless `delta` is a delta manifest of `full`
// as described above. `version` only names the snapshot in the message.
void CheckDeltaManifest(const std::vector<ParamSpec>& full, const std::vector<ParamSpec>& delta,
                        uint64_t version);

// A checksum of a whole snapshot's bytes (never 0, which means "none" on the wire): what a
// receiver compares after rebuilding a version from deltas.
uint64_t StateChecksum(const SnapshotBlob& blob);
uint64_t StateChecksum(const uint8_t* state, size_t bytes);

// What a receiver holds, for deltas to be checked against: a full state of `bytes` bytes laid
// out as `manifest`, at `version` of `publisher`. References: valid while the holder lives.
struct HeldState {
  const std::string& run_id;
  uint64_t version;
  uint64_t publisher;
  const std::vector<ParamSpec>& manifest;
  size_t bytes;
};
HeldState HeldOf(const SnapshotBlob& blob);

// Throws what ApplyDeltaInto throws before it builds anything when `delta` cannot be applied
// on `held`; writes nothing.
void CheckDeltaApplies(const HeldState& held, const SnapshotBlob& delta);

// Version `delta` rebuilt on `base`: a new blob, `base` untouched. Throws Error(kInvalidInput)
// saying what is wrong, and builds nothing, when `delta` is not a delta, is of another run or
// another publisher (a learner resumed from a checkpoint), applies to another version than
// base's (a missed delta: re-sync), has a manifest that does
// not fit base's, or names a row out of range; and, after building, when the delta carries a
// state checksum that the rebuilt blob does not match.
std::shared_ptr<SnapshotBlob> ApplyDelta(const SnapshotBlob& base, const SnapshotBlob& delta);
// The same into `out`, a blob of the caller's whose memory is reused when it has the room (a
// retired snapshot: writing into memory already mapped is many times faster than into fresh
// pages). `out` must not be `base`. On a throw, `out` holds garbage.
void ApplyDeltaInto(const SnapshotBlob& base, const SnapshotBlob& delta, SnapshotBlob& out);
// A range of a state's bytes that a delta wrote: (offset, bytes).
using WrittenRange = std::function<void(size_t offset, size_t bytes)>;
// The same on the held state's own bytes, `state` (held.bytes of them), in place: for a
// host segment (actors/snapshot/host_segment.h). Checks everything first and writes nothing when
// the delta is refused; when the rebuilt state then misses the delta's checksum it throws with
// `state` holding neither version: the caller must drop it and re-sync. `written`, when given,
// is told every range written (the changed rows, the whole tensors), before that check.
void ApplyDeltaInPlace(const HeldState& held, const SnapshotBlob& delta, uint8_t* state,
                       const WrittenRange& written = nullptr);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_SNAPSHOT_DELTA_H_
