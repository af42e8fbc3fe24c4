#ifndef RLREC_ACTORS_HOST_SEGMENT_H_
#define RLREC_ACTORS_HOST_SEGMENT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/weights_codec.h"

namespace rlrec::actors {

struct SegmentHeader;  // the segment's first bytes, shared by every process that maps it

// One host's copy of a run's policy weights: a file in a shared-memory folder (/dev/shm) that
// every actor of the host maps, so that N actors hold one copy of the model instead of N.
//
// Roles. One process at a time is the host's receiver (TryBecomeReceiver: an open-file-
// description lock, released by the kernel when its holder dies, so another actor takes over):
// it subscribes to the learner's snapshots and writes them into the segment. Every actor,
// the receiver's own loop included, reads through a Reader, one unroll at a time.
//
// Swaps. The state is written in place (a delta patches the rows that changed), so readers and
// the writer exclude each other: a reader marks itself reading in its slot of the header before
// an unroll and clears it after; the writer announces itself, waits until no reader is reading
// (readers of dead processes are let go), marks the state unreadable, writes, and stamps the
// new version. Both sides publish their mark before they look at the other's
// (sequentially consistent atomics), so a reader never sees a half-written state and a writer
// never writes under a reader. A writer that dies mid-write leaves the state unreadable:
// readers wait until the next receiver writes a full snapshot.
//
// Lifetime. Files are named after the run id and the learner's weights endpoint (NameFor), so
// two runs on one host never share one. Every process that maps a segment holds a shared lock
// on it; the last one to close it removes the file, and RemoveStaleSegments removes segments
// no live process holds (left by a crashed run). A segment is created whole under a temporary
// name and linked into place, so nobody ever opens a half-made one.
class HostSegment {
 public:
  static constexpr size_t kMaxReaders = 1024;
  static constexpr char kPrefix[] = "rlrec-snapshot-";

  // The file name of run `run_id`'s segment fed from `weights_endpoint`: the prefix, the run id
  // (characters other than [A-Za-z0-9._-] as '_', at most 64) and a hash of both.
  static std::string NameFor(const std::string& run_id, const std::string& weights_endpoint);

  // Opens `dir`/`name`, creating it (nothing readable yet) when there is none. Throws
  // Error(kInvalidInput) saying what is wrong when the file there is not a segment of run
  // `run_id` and of a model laid out as `manifest` (another run's, a wrong size, a foreign
  // file), and Error(kUnavailable) when the folder cannot hold it.
  static std::shared_ptr<HostSegment> Open(const std::string& dir, const std::string& name,
                                           const std::string& run_id,
                                           const std::vector<common::ParamSpec>& manifest);

  // Removes from `dir` every segment (and leftover temporary file) that no live process holds.
  // Returns how many. Never throws: a folder that cannot be read removes nothing.
  static int RemoveStaleSegments(const std::string& dir);

  // Removes `path` when no process holds it. Returns whether it did.
  static bool RemoveIfUnused(const std::string& path);

  // Unmaps; the last process holding the file removes it.
  ~HostSegment();
  HostSegment(const HostSegment&) = delete;
  HostSegment& operator=(const HostSegment&) = delete;

  const std::string& path() const { return path_; }
  const std::string& run_id() const { return run_id_; }
  const std::vector<common::ParamSpec>& manifest() const { return manifest_; }
  // The state's bytes (the sum of the manifest's byte counts), page-aligned.
  const uint8_t* data() const { return state_; }
  size_t bytes() const { return state_bytes_; }

  // Whether the state is whole (written, and no write under way or died half-way); its version
  // and publisher. Exact while the caller reads (Reader) or writes; a hint otherwise.
  bool readable() const;
  uint64_t version() const;
  uint64_t publisher() const;
  // Whether the receiver saw the learner end the run.
  bool run_ended() const;
  // Completed writes since the segment was made.
  uint64_t writes() const;

  // Takes the receiver role if no live process has it. Returns whether this object has it.
  bool TryBecomeReceiver();
  bool receiver() const { return receiver_; }

  // Receiver only. Waits until no reader is reading, then marks the state unreadable and returns
  // true: the caller writes through mutable_data() and ends with EndWrite or AbandonWrite. Returns
  // false (nothing changed, readers go on) when `deadline` passes or `stop` is set first.
  bool BeginWrite(common::Deadline deadline, const std::atomic<bool>& stop);
  uint8_t* mutable_data() { return state_; }
  // Ends a write: the state is now `version` of `publisher`, readable.
  void EndWrite(uint64_t version, uint64_t publisher);
  // Ends a write that left the state half-made: unreadable until the next write ends.
  void AbandonWrite();
  // Receiver only: tells the readers the learner ended the run.
  void MarkRunEnded();

  // A reading process's (or thread's) slot in the header. One per reader; not thread-safe.
  class Reader {
   public:
    // Claims a free slot (or one of a dead process). Throws Error(kUnavailable) when all
    // kMaxReaders are taken.
    explicit Reader(std::shared_ptr<HostSegment> segment);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Marks this reader reading and returns true when a state is readable and no write is
    // under way; returns false (not reading) otherwise. Never waits.
    bool TryBegin();
    // Ends a read that TryBegin began.
    void End();
    bool reading() const { return reading_; }

   private:
    std::shared_ptr<HostSegment> segment_;
    size_t slot_ = 0;
    bool reading_ = false;
  };

 private:
  HostSegment() = default;
  SegmentHeader& header() const { return *header_; }

  std::string path_;
  std::string run_id_;
  std::vector<common::ParamSpec> manifest_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  SegmentHeader* header_ = nullptr;
  uint8_t* state_ = nullptr;
  size_t state_bytes_ = 0;
  bool receiver_ = false;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_HOST_SEGMENT_H_
