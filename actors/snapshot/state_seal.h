#ifndef RLREC_ACTORS_SNAPSHOT_STATE_SEAL_H_
#define RLREC_ACTORS_SNAPSHOT_STATE_SEAL_H_

#include <cstddef>
#include <cstdint>

// A state's seal: what a host segment's writer records so that its readers can check what they
// act on at a bounded cost, however large the model (actors/snapshot/host_segment.h).
//
// The state is cut into blocks of kSealBlockBytes; each block has a sum (Checksum64 of its bytes,
// seeded with its index, so that blocks swapped are caught too), kept after the state in the
// segment, and the seal is a checksum of all the sums, of the version, the publisher and the
// write's stamp. A reader checks the seal against the sums (state_bytes / 512 bytes to read: 10
// MB for the 5.2 GB xl model) and as many blocks as kCheckedBytesPerSwap allows, from a place
// that moves on at each swap: a state of up to 64 MiB is checked whole at every swap, a larger
// one a window at a time (xl: whole every 81 swaps of one reader; readers start at different
// places). Checksum64 runs at about 4.8 GB/s on a development VM, so checking a 5.2 GB state
// whole would cost every actor 1.1 s at every version; the bounded check costs about 15 ms. A
// writer sums only the blocks it wrote (a delta: the rows it changed and the dense tensors).
namespace rlrec::actors {

inline constexpr size_t kSealBlockBytes = 4096;
inline constexpr uint64_t kCheckedBytesPerSwap = uint64_t{64} << 20;

// Blocks of a state of `bytes`.
inline size_t SealBlocks(size_t bytes) { return (bytes + kSealBlockBytes - 1) / kSealBlockBytes; }

// Writes into `sums` the sums of blocks [first, last) of `state` (`bytes` long).
void SumBlocks(const uint8_t* state, size_t bytes, size_t first, size_t last, uint64_t* sums);

// The seal of `sums` (SealBlocks(bytes) of them) for a state of `bytes` at `version` of
// `publisher`, written at `stamp`. Never 0.
uint64_t SealOf(const uint64_t* sums, size_t bytes, uint64_t version, uint64_t publisher,
                uint64_t stamp);

// Whether blocks [first, first + count) of `state`, wrapping around its end, match `sums`.
// Returns the first block that does not through `bad` (when not null).
bool BlocksMatch(const uint8_t* state, size_t bytes, const uint64_t* sums, size_t first,
                 size_t count, size_t* bad = nullptr);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_STATE_SEAL_H_
