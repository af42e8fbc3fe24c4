#ifndef RLREC_ACTORS_SNAPSHOT_HOST_SEGMENT_H_
#define RLREC_ACTORS_SNAPSHOT_HOST_SEGMENT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/snapshot/segment_layout.h"
#include "common/base/deadline.h"
#include "common/wire/weights_codec.h"

namespace rlrec::actors {

// One host's copy of a run's policy weights: a file in this user's private folder of a
// shared-memory folder (MakePrivateFolder: /dev/shm/rlrec-<uid>, mode 0700) that every actor of
// the host maps, so that N actors hold one model instead of N. Its bytes: segment_layout.h.
//
// Roles. One process at a time is the host's receiver (TryBecomeReceiver: an open-file-
// description lock, released by the kernel when its holder dies): it subscribes to the learner's
// snapshots and writes them into the segment, and stamps a heartbeat in the header at least
// every 0.1 s while it works (Heartbeat; also while it waits for readers and while it sums what
// it wrote). Every actor, the receiver's own loop included, reads through a Reader, one unroll at
// a time. An actor that finds the heartbeat older than actor.receiver_timeout_s (the receiver
// stopped by SIGSTOP, or its thread stalled) replaces it: TakeOverFromSilentReceiver ends it with
// SIGKILL and takes the lock. Ending it, rather than moving the host to a new segment that the
// old receiver does not own, because a stopped receiver can resume at any moment in the middle of
// a write, and a second segment would cost a second copy of the model for as long as the stopped
// process lives (it keeps the first one mapped): xl's 5.2 GB would not fit its 24 GB host twice
// over. It is ended only after checking, from /proc, that the pid named in the header is still
// the receiver: the same start time (a pid can be reused), the same user, and this very file open.
//
// Copies. The segment holds actor.snapshot_copies (1 or 2) copies of the state and says which
// one readers read (active). With two, a full snapshot is assembled into the other copy while
// the actors go on with theirs, checked, and only then made active: a snapshot refused after it
// arrived (non-finite values, a wrong manifest) or one that never completes leaves the actors on
// the previous version. A delta is checked whole before anything is written, then applied in
// place on the active copy while readers wait; when its rebuilt state misses the learner's
// checksum, the other copy (an older, whole version) becomes active until a re-sync. With one
// copy (hosts short of memory), full snapshots are assembled in place and any of these leaves
// nothing readable until the next full snapshot.
//
// Swaps. A reader marks itself reading a copy in its slot of the header before an unroll and
// clears it after; a writer announces itself and the copy it writes, waits until no live reader
// reads that copy, marks it unreadable, writes, seals and stamps it. Both sides publish their
// mark before they look at the other's (sequentially consistent atomics), so a reader never sees
// a half-written copy and a writer never writes under a reader. A writer that dies mid-write
// leaves its copy unreadable. A writer word naming a process that is not the receiver (or a
// dead one) is cleared by readers, who then ask the receiver to check the state (RequestRebuild).
//
// Seals. The writer seals each copy it writes (actors/snapshot/state_seal.h: block sums and a
// checksum of them with the version); a reader checks the seal and a bounded window of blocks at
// each swap (Reader::Check) and does not act on a state that fails: it asks the receiver, which
// checks the copy whole, falls back to the other copy or drops it, and re-syncs.
//
// Ownership. The folder and every file are created exclusively (O_EXCL, O_NOFOLLOW; a symlink is
// never followed) with modes 0700 and 0600, and a folder or file that is not this user's alone
// is refused, naming its owner and mode, never adopted (Open). Files are named after the run id
// and the learner's weights endpoint (NameFor). Every process that maps a segment holds a shared
// lock on it; the last one to close it removes the file, and RemoveStaleSegments removes
// segments no live process holds (left by a crashed run). A segment is created whole under a
// temporary name and linked into place, so nobody ever opens a half-made one.
class HostSegment {
 public:
  static constexpr size_t kMaxReaders = segment::kMaxReaders;
  static constexpr char kPrefix[] = "rlrec-snapshot-";

  // The file name of run `run_id`'s segment fed from `weights_endpoint`: the prefix, the run id
  // (characters other than [A-Za-z0-9._-] as '_', at most 64) and a hash of both.
  static std::string NameFor(const std::string& run_id, const std::string& weights_endpoint);

  // Opens `dir`/`name`, creating it (nothing readable yet, `copies` copies of the state) when
  // there is none. `dir` must be a folder of this user's of mode 0700 (MakePrivateFolder).
  // Throws Error(kInvalidInput) saying what is wrong when the folder or the file is not this
  // user's alone (owner, mode, a symlink) or the file is not a segment of run `run_id`, of a
  // model laid out as `manifest`, with `copies` copies (another run's, a wrong size, a foreign
  // file), and Error(kUnavailable) when the folder cannot hold it.
  static std::shared_ptr<HostSegment> Open(const std::string& dir, const std::string& name,
                                           const std::string& run_id,
                                           const std::vector<common::ParamSpec>& manifest,
                                           uint32_t copies = 2);

  // Removes from `dir` (a private folder, else nothing) every segment of this user's (and
  // leftover temporary file) that no live process holds. Returns how many. Never throws.
  static int RemoveStaleSegments(const std::string& dir);

  // Removes `path` when it is a file of this user's, mode 0600 or narrower, in a private folder,
  // that no process holds. Returns whether it did. Never throws.
  static bool RemoveIfUnused(const std::string& path);

  // Unmaps; the last process holding the file removes it.
  ~HostSegment();
  HostSegment(const HostSegment&) = delete;
  HostSegment& operator=(const HostSegment&) = delete;

  const std::string& path() const { return path_; }
  const std::string& run_id() const { return run_id_; }
  const std::vector<common::ParamSpec>& manifest() const { return manifest_; }
  uint32_t copies() const { return copies_; }
  // One copy's bytes (the sum of the manifest's byte counts), page-aligned.
  size_t bytes() const { return state_bytes_; }
  const uint8_t* data(uint32_t copy) const { return CopyBase(copy); }

  // The copy readers read (always below copies()), and what a copy holds: whether it is whole
  // (written, and no write under way or died half-way), its version, publisher and stamp (a new
  // stamp at every write). Exact while the caller reads (Reader) or writes; a hint otherwise.
  uint32_t active() const;
  bool readable(uint32_t copy) const;
  uint64_t version(uint32_t copy) const;
  uint64_t publisher(uint32_t copy) const;
  uint64_t stamp(uint32_t copy) const;
  // The same of the active copy.
  bool readable() const { return readable(active()); }
  uint64_t version() const { return version(active()); }
  uint64_t publisher() const { return publisher(active()); }
  // Whether the receiver saw the learner end the run.
  bool run_ended() const;
  // Completed writes since the segment was made.
  uint64_t writes() const;

  // Takes the receiver role if no live process has it, and stamps the heartbeat. Returns
  // whether this object has it.
  bool TryBecomeReceiver();
  bool receiver() const { return receiver_; }
  // Receiver only: stamps the heartbeat (and the receiver's pid and start time, should anyone
  // have written others over them).
  void Heartbeat();
  // Seconds since the receiver last stamped its heartbeat; infinite before any receiver did
  // (a receiver stamps as it takes the role) and for a stamp in the future (not one a receiver
  // wrote).
  double ReceiverSilenceS() const;
  // Not the receiver: when the receiver has been silent for `timeout_s` or longer, and stays
  // silent 0.25 s more, ends it (SIGKILL, only after checking that the header's pid is still
  // that process) and takes the role, waiting at most 5 s for the lock. Returns whether this object
  // is now the receiver; sets `*what` to a line for the log when anything was done or found
  // impossible (a pid that is not the receiver's), empty otherwise.
  bool TakeOverFromSilentReceiver(double timeout_s, std::string* what);

  // Receiver only. Waits until no reader reads `copy`, then marks it unreadable and returns
  // true: the caller writes through mutable_data(copy) and ends with EndWrite or AbandonWrite.
  // Returns false (nothing changed, readers go on) when `deadline` passes or `stop` is set first.
  bool BeginWrite(uint32_t copy, common::Deadline deadline, const std::atomic<bool>& stop);
  uint8_t* mutable_data(uint32_t copy) { return CopyBase(copy); }
  // Byte ranges of a state, (offset, bytes).
  using Ranges = std::vector<std::pair<size_t, size_t>>;
  // Ends a write into `copy`: seals it as `version` of `publisher` (summing again the blocks of
  // `changed`, or every block when null) and makes it the copy readers read.
  void EndWrite(uint32_t copy, uint64_t version, uint64_t publisher,
                const Ranges* changed = nullptr);
  // Ends a write that left its copy half-made: unreadable until written whole again.
  void AbandonWrite();
  // Receiver only: makes `copy`, readable, the one readers read; marks `copy` unreadable.
  void Activate(uint32_t copy);
  void Discard(uint32_t copy);
  // Receiver only: clears the writer word when it names another process or a write this
  // process is not doing (left by a receiver before this one, or written by anyone else).
  // Returns whether it did.
  bool ClearStrayWriter();
  // Whether `copy` is readable and matches its seal in every block. Sets `*why` when not. For
  // the receiver (stamps the heartbeat as it goes) or a caller that holds the copy still.
  bool CheckWhole(uint32_t copy, std::string* why);
  // Receiver only: tells the readers the learner ended the run.
  void MarkRunEnded();
  // Asks the receiver to check the state whole (a reader found it, or a writer, impossible).
  void RequestRebuild();
  uint64_t rebuild_requests() const;

  // A reading process's (or thread's) slot in the header. One per reader; not thread-safe.
  class Reader {
   public:
    // Claims a free slot (or one of a dead process). Throws Error(kUnavailable) when all
    // kMaxReaders are taken.
    explicit Reader(std::shared_ptr<HostSegment> segment);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    // Marks this reader reading the active copy and returns true when it is readable and no
    // write into it is waiting or under way; returns false (not reading) otherwise. Never waits.
    // A writer word that names a dead process or one that is not the receiver is cleared, and a
    // rebuild asked for the latter.
    bool TryBegin();
    // Ends a read that TryBegin began.
    void End();
    bool reading() const { return reading_; }
    // The copy being read (while reading).
    uint32_t copy() const { return copy_; }
    // While reading: checks the copy read against its seal and kCheckedBytesPerSwap of its
    // blocks (actors/snapshot/state_seal.h), from where this reader's last check ended. Returns
    // false, saying why in `*why`, when it does not match.
    bool Check(std::string* why);

   private:
    std::shared_ptr<HostSegment> segment_;
    size_t slot_ = 0;
    bool reading_ = false;
    uint32_t copy_ = 0;
    size_t cursor_ = 0;  // the block the next Check starts at
  };

 private:
  HostSegment() = default;
  segment::SegmentHeader& header() const { return *header_; }
  uint8_t* CopyBase(uint32_t copy) const;
  uint64_t* Sums(uint32_t copy) const;
  // Whether `word` (a writer word) can be a write by the receiver now.
  bool WriterPlausible(uint64_t word) const;
  // Waits until no live reader reads `copy`; false at `deadline` or `stop`.
  bool WaitForReaders(uint32_t copy, common::Deadline deadline, const std::atomic<bool>& stop);

  // Set by Open; never change after.
  std::string path_;
  std::string name_;
  std::string run_id_;
  std::vector<common::ParamSpec> manifest_;
  int dir_fd_ = -1;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  segment::SegmentHeader* header_ = nullptr;
  size_t state_bytes_ = 0;
  uint32_t copies_ = 1;
  uint64_t start_time_ = 0;  // of this process

  bool receiver_ = false;
  uint64_t writing_ = 0;  // the writer word of this process's write under way; 0: none
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_HOST_SEGMENT_H_
