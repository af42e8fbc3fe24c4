#ifndef RLREC_ACTORS_SNAPSHOT_SEGMENT_LAYOUT_H_
#define RLREC_ACTORS_SNAPSHOT_SEGMENT_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

// The bytes of a host segment file (actors/snapshot/host_segment.h), shared by every process that
// maps it: a header, then one or two copies of the state, each followed by its seal's block sums
// (actors/snapshot/state_seal.h). The one definition of the format; a change of it changes kLayout.
// Tests and fuzz_decoders include it to write into a segment what a hostile or broken process
// could.
//
//   [SegmentHeader, padded to kAlign] [copy 0: state | block sums, padded to kAlign] [copy 1 ...]
namespace rlrec::actors::segment {

inline constexpr char kMagic[8] = {'R', 'L', 'R', 'E', 'C', 'S', 'H', 'M'};
inline constexpr uint32_t kLayout = 2;
inline constexpr uint32_t kMaxReaders = 1024;
inline constexpr uint32_t kMaxCopies = 2;
// Every copy starts on a 64 KiB boundary: every tensor view of it is aligned.
inline constexpr size_t kAlign = size_t{64} << 10;

// A reading process's place in the header.
struct ReaderSlot {
  std::atomic<int32_t> pid;       // the reading process; 0: free
  std::atomic<uint32_t> reading;  // 0, or 1 + the copy being read (during one unroll)
};

// One copy of the state, as its writer left it.
struct CopyRecord {
  std::atomic<uint32_t> readable;  // 0 until written whole, and during every write into it
  std::atomic<uint64_t> version;
  std::atomic<uint64_t> publisher;
  std::atomic<uint64_t>
      stamp;  // SegmentHeader::writes when it was written: a new value, a new state
  std::atomic<uint64_t> seal;  // SealOf its block sums, version, publisher and stamp
};

struct SegmentHeader {
  // Written once, when the file is made; checked by every process that opens it.
  char magic[8];
  uint32_t layout;
  uint32_t max_readers;
  uint32_t copies;      // 1 or 2 (actor.snapshot_copies)
  uint32_t seal_block;  // kSealBlockBytes of actors/snapshot/state_seal.h
  uint64_t run_sum;     // Checksum64 of the run id
  uint64_t manifest_sum;
  uint64_t state_bytes;   // of one copy
  uint64_t state_offset;  // of copy 0
  uint64_t copy_stride;   // from one copy to the next
  char run_id[128];       // the run id, for messages (cut, NUL-terminated)

  // Changed as the run goes; every field may hold anything a process of this user wrote.
  std::atomic<uint32_t> active;  // the copy readers read
  std::atomic<uint64_t> writer;  // WriterWord of the write waiting or under way; 0: none
  std::atomic<uint64_t> writes;  // completed writes
  std::atomic<int32_t> receiver_pid;
  std::atomic<uint64_t> receiver_start;    // its start time (ProcessStartTime), against pid reuse
  std::atomic<int64_t> heartbeat_ns;       // steady clock of the receiver's last stamp; 0: none yet
  std::atomic<uint64_t> rebuild_requests;  // readers that found a state or a writer impossible
  std::atomic<uint32_t> run_ended;
  CopyRecord copy[kMaxCopies];
  ReaderSlot readers[kMaxReaders];
};

// The writer word: who writes (a pid) into which copy.
inline uint64_t WriterWord(int32_t pid, uint32_t copy) {
  return (uint64_t{static_cast<uint32_t>(pid)} << 32) | (copy + 1);
}
inline int32_t WriterPid(uint64_t word) { return static_cast<int32_t>(word >> 32); }
// The copy written; kMaxCopies or more for a word no writer makes.
inline uint64_t WriterCopy(uint64_t word) { return (word & 0xffffffffu) - 1; }

static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<int32_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the header's atomics must work across processes");

// tests/bench/host_memory reads state_bytes from the file at this offset.
static_assert(offsetof(SegmentHeader, state_bytes) == 40, "the layout moved: update host_memory");

inline constexpr size_t RoundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }
inline constexpr size_t StateOffset() { return RoundUp(sizeof(SegmentHeader), kAlign); }

}  // namespace rlrec::actors::segment

#endif  // RLREC_ACTORS_SNAPSHOT_SEGMENT_LAYOUT_H_
