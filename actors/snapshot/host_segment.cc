#include "actors/snapshot/host_segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <thread>

#include "actors/snapshot/owned_files.h"
#include "actors/snapshot/process_identity.h"
#include "actors/snapshot/state_seal.h"
#include "common/base/checksum.h"
#include "common/base/error.h"
#include "common/base/logging.h"

namespace rlrec::actors {

using segment::CopyRecord;
using segment::ReaderSlot;
using segment::RoundUp;
using segment::SegmentHeader;
using segment::StateOffset;

namespace {

constexpr off_t kReceiverByte = 0;  // write-locked by the receiver
constexpr off_t kHolderByte = 1;    // read-locked by every process that maps the segment
// Blocks summed or checked between two heartbeats of the receiver: 64 MiB, ~15 ms.
constexpr size_t kBlocksPerBeat = (size_t{64} << 20) / kSealBlockBytes;

uint64_t ManifestSum(const std::vector<common::ParamSpec>& manifest) {
  common::Checksum64Stream sum;
  for (const common::ParamSpec& spec : manifest) {
    sum.Update(spec.name.data(), spec.name.size() + 1);  // with its NUL: names stay apart
    const auto dtype = static_cast<uint32_t>(spec.dtype);
    sum.Update(&dtype, sizeof(dtype));
    const auto dims = static_cast<uint64_t>(spec.shape.size());
    sum.Update(&dims, sizeof(dims));
    sum.Update(spec.shape.data(), spec.shape.size() * sizeof(int64_t));
  }
  return sum.Final();
}

uint64_t StateBytes(const std::vector<common::ParamSpec>& manifest) {
  uint64_t bytes = 0;
  for (const common::ParamSpec& spec : manifest) bytes += spec.bytes();
  return bytes;
}

// Where a copy's block sums start, after its state.
size_t SumsOffset(size_t state_bytes) { return RoundUp(state_bytes, 64); }
size_t CopyStride(size_t state_bytes) {
  return RoundUp(SumsOffset(state_bytes) + SealBlocks(state_bytes) * sizeof(uint64_t),
                 segment::kAlign);
}
size_t FileBytes(size_t state_bytes, uint32_t copies) {
  return StateOffset() + copies * CopyStride(state_bytes);
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             common::Clock::now().time_since_epoch())
      .count();
}

// An open-file-description lock on one byte: released when the file is closed or the process
// dies, and conflicting between two opens of the file even within one process.
bool LockByte(int fd, short type, off_t byte) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = byte;
  lock.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

// Whether `fd` is still the file `name` of folder `dir_fd` (not removed, nor replaced).
bool StillAt(int fd, int dir_fd, const std::string& name) {
  struct stat by_fd {
  }, by_name{};
  return fstat(fd, &by_fd) == 0 &&
         fstatat(dir_fd, name.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
         by_fd.st_ino == by_name.st_ino && by_fd.st_dev == by_name.st_dev;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Builds a segment under a temporary name and links it to `name`. Returns its descriptor, read-
// locked, or -1 when another process linked one first (or a cleaner took the temporary file).
// The longest wait for another process's creation of a segment (its memory is reserved at
// once: seconds even for gigabytes).
constexpr int kCreateWaitS = 300;

// Takes the exclusive lock of the folder `dir_fd` (flock: released when the descriptor closes
// or the process dies), waiting until `deadline`. Returns whether it did.
bool LockFolder(int dir_fd, common::Deadline deadline) {
  while (flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || common::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

int CreateSegment(int dir_fd, const std::string& dir, const std::string& name,
                  const std::string& run_id, const std::vector<common::ParamSpec>& manifest,
                  uint32_t copies) {
  static std::atomic<uint64_t> counter{0};
  const std::string path = dir + "/" + name;
  const std::string temp =
      "." + name + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd =
      openat(dir_fd, temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw common::Unavailable(Errno("cannot create shared snapshot in '" + dir + "'"));
  const auto fail = [&](const std::string& what) {
    const std::string message = Errno(what);
    close(fd);
    unlinkat(dir_fd, temp.c_str(), 0);
    return common::Unavailable(message);
  };
  // Exactly 0600, whatever the umask: every actor of this user opens it for writing.
  if (fchmod(fd, 0600) != 0) throw fail("cannot set the mode of '" + path + "'");
  if (!LockByte(fd, F_RDLCK, kHolderByte)) throw fail("cannot lock '" + path + "'");
  const uint64_t state_bytes = StateBytes(manifest);
  const size_t total = FileBytes(state_bytes, copies);
  // Reserve every page now: a full tmpfs then says so here, instead of killing a process
  // with SIGBUS when it first writes to a page that has no memory behind it.
  if (const int rc = posix_fallocate(fd, 0, static_cast<off_t>(total)); rc != 0) {
    errno = rc;
    throw fail("cannot reserve " + std::to_string(total) + " bytes for shared snapshot '" + path +
               "' (is " + dir + " full?)");
  }
  void* map = mmap(nullptr, sizeof(SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) throw fail("cannot map '" + path + "'");
  auto* header = new (map) SegmentHeader{};
  std::memcpy(header->magic, segment::kMagic, sizeof(segment::kMagic));
  header->layout = segment::kLayout;
  header->max_readers = segment::kMaxReaders;
  header->copies = copies;
  header->seal_block = kSealBlockBytes;
  header->run_sum = common::Checksum64(run_id.data(), run_id.size());
  header->manifest_sum = ManifestSum(manifest);
  header->state_bytes = state_bytes;
  header->state_offset = StateOffset();
  header->copy_stride = CopyStride(state_bytes);
  std::snprintf(header->run_id, sizeof(header->run_id), "%s", run_id.c_str());
  munmap(map, sizeof(SegmentHeader));
  if (linkat(dir_fd, temp.c_str(), dir_fd, name.c_str(), 0) != 0) {
    const int error = errno;
    close(fd);
    unlinkat(dir_fd, temp.c_str(), 0);
    if (error == EEXIST || error == ENOENT) return -1;
    errno = error;
    throw common::Unavailable(Errno("cannot link shared snapshot '" + path + "'"));
  }
  unlinkat(dir_fd, temp.c_str(), 0);
  return fd;
}

// Throws Error(kInvalidInput) unless `header` (of a file of `file_bytes`) is a segment of
// `run_id` and `manifest` with `copies` copies.
void CheckHeader(const SegmentHeader& header, size_t file_bytes, const std::string& path,
                 const std::string& run_id, const std::vector<common::ParamSpec>& manifest,
                 uint32_t copies) {
  const std::string where = "shared snapshot '" + path + "'";
  if (std::memcmp(header.magic, segment::kMagic, sizeof(segment::kMagic)) != 0 ||
      header.layout != segment::kLayout || header.max_readers != segment::kMaxReaders ||
      header.seal_block != kSealBlockBytes || header.state_offset != StateOffset()) {
    throw common::InvalidInput(where + " is not an rlrec segment of this build's layout");
  }
  if (header.run_sum != common::Checksum64(run_id.data(), run_id.size())) {
    char other[sizeof(header.run_id)];
    std::memcpy(other, header.run_id, sizeof(other));
    other[sizeof(other) - 1] = '\0';
    throw common::InvalidInput(where + " belongs to run '" + common::Printable(other) +
                               "', this actor is in run '" + run_id + "'");
  }
  if (header.copies != copies) {
    throw common::InvalidInput(where + " holds " + std::to_string(header.copies) +
                               " copies of the state, this actor keeps " + std::to_string(copies) +
                               " (actor.snapshot_copies)");
  }
  const uint64_t expected = StateBytes(manifest);
  if (header.state_bytes != expected || header.copy_stride != CopyStride(expected) ||
      file_bytes != FileBytes(expected, copies)) {
    throw common::InvalidInput(where + " holds " + std::to_string(header.state_bytes) +
                               " bytes of state in a file of " + std::to_string(file_bytes) +
                               ", this model needs " + std::to_string(expected) + " in " +
                               std::to_string(FileBytes(expected, copies)));
  }
  if (header.manifest_sum != ManifestSum(manifest)) {
    throw common::InvalidInput(where + " is laid out for another model than this actor's");
  }
}

// Removes `name` of folder `dir_fd` when it is a file of this user's, mode 0600 or narrower,
// that no process holds.
bool RemoveIfUnusedAt(int dir_fd, const std::string& name) {
  const int fd = openat(dir_fd, name.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  bool removed = false;
  try {
    CheckPrivateFile(fd, name);
    removed = LockByte(fd, F_WRLCK, kHolderByte) && StillAt(fd, dir_fd, name) &&
              unlinkat(dir_fd, name.c_str(), 0) == 0;
  } catch (const common::Error&) {
    // Not this user's alone: left where it is.
  }
  close(fd);
  return removed;
}

}  // namespace

std::string HostSegment::NameFor(const std::string& run_id, const std::string& weights_endpoint) {
  std::string name = kPrefix;
  for (char c : run_id.substr(0, 64)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    name += plain ? c : '_';
  }
  const std::string key = run_id + '\n' + weights_endpoint;
  char hash[24];
  std::snprintf(hash, sizeof(hash), "-%016llx",
                static_cast<unsigned long long>(common::Checksum64(key.data(), key.size())));
  return name + hash;
}

std::shared_ptr<HostSegment> HostSegment::Open(const std::string& dir, const std::string& name,
                                               const std::string& run_id,
                                               const std::vector<common::ParamSpec>& manifest,
                                               uint32_t copies) {
  if (copies < 1 || copies > segment::kMaxCopies) {
    throw common::InvalidInput("a shared snapshot holds 1 or 2 copies, not " +
                               std::to_string(copies));
  }
  const std::string path = dir + "/" + name;
  const int dir_fd = OpenPrivateFolder(dir);
  const auto fail = [&](int fd, const common::Error& error) {
    if (fd >= 0) close(fd);
    close(dir_fd);
    return error;
  };
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = openat(dir_fd, name.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      // One creator at a time: every actor of a host starting at once would otherwise each
      // reserve a whole segment's memory for a file that loses the race (8 actors of
      // configs/large.ini, 5.2 GB each, filled a 24 GB host).
      if (!LockFolder(dir_fd, common::After(kCreateWaitS))) {
        throw fail(-1, common::Unavailable("another process kept creating a shared snapshot in " +
                                           dir + " for " + std::to_string(kCreateWaitS) + " s"));
      }
      struct stat made {};
      const bool exists = fstatat(dir_fd, name.c_str(), &made, AT_SYMLINK_NOFOLLOW) == 0;
      try {
        if (!exists) fd = CreateSegment(dir_fd, dir, name, run_id, manifest, copies);
      } catch (const common::Error& e) {
        flock(dir_fd, LOCK_UN);
        throw fail(-1, e);
      }
      flock(dir_fd, LOCK_UN);
      if (fd < 0) continue;  // another process made it first: open theirs
    } else if (fd < 0 && errno == EISDIR) {
      throw fail(-1, common::InvalidInput("shared snapshot '" + path + "' is a folder"));
    } else if (fd < 0 && errno == ELOOP) {
      throw fail(-1, common::InvalidInput("shared snapshot '" + path +
                                          "' is a symlink, which is never followed"));
    } else if (fd < 0) {
      throw fail(-1, common::Unavailable(Errno("cannot open shared snapshot '" + path + "'")));
    } else {
      try {
        CheckPrivateFile(fd, path);
      } catch (const common::Error& e) {
        throw fail(fd, e);
      }
      if (!LockByte(fd, F_RDLCK, kHolderByte) || !StillAt(fd, dir_fd, name)) {
        close(fd);  // being removed by a cleaner, or already gone: look again
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      throw fail(fd, common::Unavailable(Errno("cannot stat shared snapshot '" + path + "'")));
    }
    const auto file_bytes = static_cast<size_t>(st.st_size);
    if (file_bytes < StateOffset()) {
      throw fail(fd,
                 common::InvalidInput("shared snapshot '" + path + "' holds " +
                                      std::to_string(file_bytes) + " bytes: not an rlrec segment"));
    }
    void* map = mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      throw fail(fd, common::Unavailable(Errno("cannot map shared snapshot '" + path + "'")));
    }
    try {
      CheckHeader(*static_cast<const SegmentHeader*>(map), file_bytes, path, run_id, manifest,
                  copies);
    } catch (const common::Error& e) {
      munmap(map, file_bytes);
      throw fail(fd, e);
    }
    std::shared_ptr<HostSegment> segment(new HostSegment());
    segment->path_ = path;
    segment->name_ = name;
    segment->run_id_ = run_id;
    segment->manifest_ = manifest;
    segment->dir_fd_ = dir_fd;
    segment->fd_ = fd;
    segment->map_ = map;
    segment->map_bytes_ = file_bytes;
    segment->header_ = static_cast<SegmentHeader*>(map);
    segment->state_bytes_ = StateBytes(manifest);
    segment->copies_ = copies;
    segment->start_time_ = ProcessStartTime(getpid());
    return segment;
  }
  close(dir_fd);
  throw common::Unavailable("shared snapshot '" + path + "' kept changing while it was opened");
}

bool HostSegment::RemoveIfUnused(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return false;
  int dir_fd = -1;
  try {
    dir_fd = OpenPrivateFolder(path.substr(0, slash));
  } catch (const common::Error&) {
    return false;
  }
  const bool removed = RemoveIfUnusedAt(dir_fd, path.substr(slash + 1));
  close(dir_fd);
  return removed;
}

int HostSegment::RemoveStaleSegments(const std::string& dir) {
  int dir_fd = -1;
  try {
    dir_fd = OpenPrivateFolder(dir);
  } catch (const common::Error&) {
    return 0;
  }
  std::vector<std::string> names;
  const int list_fd = dup(dir_fd);
  if (DIR* folder = list_fd >= 0 ? fdopendir(list_fd) : nullptr) {
    while (const dirent* entry = readdir(folder)) {
      const std::string name = entry->d_name;
      if (name.rfind(kPrefix, 0) == 0 || name.rfind(std::string(".") + kPrefix, 0) == 0) {
        names.push_back(name);
      }
    }
    closedir(folder);
  } else if (list_fd >= 0) {
    close(list_fd);
  }
  int removed = 0;
  for (const std::string& name : names) removed += RemoveIfUnusedAt(dir_fd, name) ? 1 : 0;
  close(dir_fd);
  return removed;
}

HostSegment::~HostSegment() {
  munmap(map_, map_bytes_);
  // The last holder removes the file: the write lock is granted only when no other process
  // (nor another open in this one) holds the segment.
  const bool last = LockByte(fd_, F_WRLCK, kHolderByte) && StillAt(fd_, dir_fd_, name_) &&
                    unlinkat(dir_fd_, name_.c_str(), 0) == 0;
  close(fd_);
  close(dir_fd_);
  // And this user's private folder, when nothing else is left in it (MakePrivateFolder).
  const std::string folder = path_.substr(0, path_.size() - name_.size() - 1);
  const size_t slash = folder.rfind('/');
  if (last && slash != std::string::npos &&
      folder.substr(slash + 1) == "rlrec-" + std::to_string(geteuid())) {
    RemoveFolderIfEmpty(folder);
  }
}

uint8_t* HostSegment::CopyBase(uint32_t copy) const {
  return static_cast<uint8_t*>(map_) + StateOffset() + copy * CopyStride(state_bytes_);
}

uint64_t* HostSegment::Sums(uint32_t copy) const {
  return reinterpret_cast<uint64_t*>(CopyBase(copy) + SumsOffset(state_bytes_));
}

uint32_t HostSegment::active() const {
  const uint32_t copy = header().active.load();
  return copy < copies_ ? copy : 0;
}
bool HostSegment::readable(uint32_t copy) const {
  return copy < copies_ && header().copy[copy].readable.load() != 0;
}
uint64_t HostSegment::version(uint32_t copy) const {
  return copy < copies_ ? header().copy[copy].version.load() : 0;
}
uint64_t HostSegment::publisher(uint32_t copy) const {
  return copy < copies_ ? header().copy[copy].publisher.load() : 0;
}
uint64_t HostSegment::stamp(uint32_t copy) const {
  return copy < copies_ ? header().copy[copy].stamp.load() : 0;
}
bool HostSegment::run_ended() const { return header().run_ended.load() != 0; }
uint64_t HostSegment::writes() const { return header().writes.load(); }
uint64_t HostSegment::rebuild_requests() const { return header().rebuild_requests.load(); }
void HostSegment::RequestRebuild() { header().rebuild_requests.fetch_add(1); }

bool HostSegment::TryBecomeReceiver() {
  if (!receiver_ && LockByte(fd_, F_WRLCK, kReceiverByte)) {
    receiver_ = true;
    Heartbeat();
  }
  return receiver_;
}

void HostSegment::Heartbeat() {
  SegmentHeader& h = header();
  if (h.receiver_pid.load() != getpid()) h.receiver_pid.store(getpid());
  if (h.receiver_start.load() != start_time_) h.receiver_start.store(start_time_);
  h.heartbeat_ns.store(NowNs());
}

double HostSegment::ReceiverSilenceS() const {
  // Anyone can write the header: only a stamp a receiver could have made counts.
  const int64_t stamped = header().heartbeat_ns.load();
  const int64_t now = NowNs();
  if (stamped <= 0 || stamped > now + int64_t{1000000000}) {
    return std::numeric_limits<double>::infinity();
  }
  return static_cast<double>(now - stamped) / 1e9;
}

bool HostSegment::TakeOverFromSilentReceiver(double timeout_s, std::string* what) {
  what->clear();
  if (receiver_) return true;
  const double silence = ReceiverSilenceS();
  if (silence < timeout_s || run_ended()) return false;
  const int32_t pid = header().receiver_pid.load();
  const uint64_t start = header().receiver_start.load();
  char silent[32];
  std::snprintf(silent, sizeof(silent), "%.1f", silence);
  if (TryBecomeReceiver()) {
    *what = "this actor (pid " + std::to_string(getpid()) + ") took over " + path_ +
            " from receiver pid " + std::to_string(pid) + ", gone after " + silent +
            " s of silence";
    return true;
  }
  // A receiver that stamps again (it was resumed, or the stamp in the header was not its own)
  // is not silent: it stamps at least every 0.1 s.
  const int64_t stamped = header().heartbeat_ns.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  if (header().heartbeat_ns.load() != stamped) return false;
  if (!ProcessHoldsFile(pid, start, fd_)) {
    *what = "the receiver of " + path_ + " has been silent for " + std::string(silent) +
            " s, and the header's receiver pid " + std::to_string(pid) +
            " is not a process of this user holding the segment: cannot replace it";
    return false;
  }
  // A stopped process can resume at any moment and write: it is ended, not left behind.
  if (kill(pid, SIGKILL) != 0 && errno != ESRCH) {
    *what = Errno("cannot end the silent receiver pid " + std::to_string(pid) + " of " + path_);
    return false;
  }
  // Another actor of the host may have ended it too, and taken the lock first.
  const auto deadline = common::After(5);
  while (!TryBecomeReceiver() && ReceiverSilenceS() >= timeout_s &&
         common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  char timeout[32];
  std::snprintf(timeout, sizeof(timeout), "%g", timeout_s);
  *what = "this actor (pid " + std::to_string(getpid()) + ") " +
          (receiver_                        ? "took over"
           : ReceiverSilenceS() < timeout_s ? "saw another actor take over"
                                            : "could not take over") +
          " " + path_ + " from receiver pid " + std::to_string(pid) + ", silent for " + silent +
          " s (stopped or stalled; actor.receiver_timeout_s = " + timeout +
          "): ended it with SIGKILL";
  return receiver_;
}

bool HostSegment::WaitForReaders(uint32_t copy, common::Deadline deadline,
                                 const std::atomic<bool>& stop) {
  SegmentHeader& h = header();
  for (;;) {
    bool busy = false;
    for (ReaderSlot& slot : h.readers) {
      if (slot.reading.load() != copy + 1) continue;
      if (IsLiveProcess(slot.pid.load())) {
        busy = true;
      } else {
        slot.reading.store(0);  // died reading: it reads no more
      }
    }
    if (!busy) return true;
    if (receiver_) Heartbeat();
    if (stop || common::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

bool HostSegment::BeginWrite(uint32_t copy, common::Deadline deadline,
                             const std::atomic<bool>& stop) {
  SegmentHeader& h = header();
  CopyRecord& record = h.copy[copy];
  writing_ = segment::WriterWord(getpid(), copy);
  h.writer.store(writing_);  // from here on, readers of `copy` do not begin
  const bool was_readable = record.readable.load() != 0;
  // Then once more after the copy is marked unreadable: a reader that let a writer word naming
  // another process go (RequestRebuild) may have begun meanwhile.
  if (WaitForReaders(copy, deadline, stop)) {
    record.readable.store(0);  // a write that dies half-way leaves nothing readable
    if (WaitForReaders(copy, deadline, stop)) return true;
    if (was_readable) record.readable.store(1);  // nothing written: it is whole still
  }
  writing_ = 0;
  h.writer.store(0);
  return false;
}

void HostSegment::EndWrite(uint32_t copy, uint64_t version, uint64_t publisher,
                           const Ranges* changed) {
  SegmentHeader& h = header();
  const uint8_t* state = CopyBase(copy);
  uint64_t* sums = Sums(copy);
  const size_t blocks = SealBlocks(state_bytes_);
  const auto sum = [&](size_t first, size_t last) {
    for (size_t at = first; at < last; at += kBlocksPerBeat) {
      SumBlocks(state, state_bytes_, at, std::min(last, at + kBlocksPerBeat), sums);
      if (receiver_) Heartbeat();
    }
  };
  if (!changed) {
    sum(0, blocks);
  } else {
    std::vector<size_t> touched;
    for (const auto& [offset, bytes] : *changed) {
      if (bytes == 0 || offset >= state_bytes_) continue;
      const size_t last = std::min(state_bytes_, offset + bytes) - 1;
      for (size_t b = offset / kSealBlockBytes; b <= last / kSealBlockBytes; ++b) {
        touched.push_back(b);
      }
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (size_t i = 0; i < touched.size(); ++i) {
      SumBlocks(state, state_bytes_, touched[i], touched[i] + 1, sums);
      if (receiver_ && i % kBlocksPerBeat == 0) Heartbeat();
    }
  }
  const uint64_t stamp = h.writes.load() + 1;
  CopyRecord& record = h.copy[copy];
  record.version.store(version);
  record.publisher.store(publisher);
  record.stamp.store(stamp);
  record.seal.store(SealOf(sums, state_bytes_, version, publisher, stamp));
  record.readable.store(1);
  h.writes.store(stamp);
  h.active.store(copy);
  writing_ = 0;
  h.writer.store(0);
}

void HostSegment::AbandonWrite() {
  writing_ = 0;
  header().writer.store(0);
}

void HostSegment::Activate(uint32_t copy) {
  if (copy < copies_) header().active.store(copy);
}

void HostSegment::Discard(uint32_t copy) {
  if (copy < copies_) header().copy[copy].readable.store(0);
}

bool HostSegment::ClearStrayWriter() {
  uint64_t word = header().writer.load();
  if (word == 0 || word == writing_) return false;
  return header().writer.compare_exchange_strong(word, 0);
}

bool HostSegment::CheckWhole(uint32_t copy, std::string* why) {
  if (!readable(copy)) {
    *why = "copy " + std::to_string(copy) + " is not readable";
    return false;
  }
  const CopyRecord& record = header().copy[copy];
  const uint64_t* sums = Sums(copy);
  if (SealOf(sums, state_bytes_, record.version.load(), record.publisher.load(),
             record.stamp.load()) != record.seal.load()) {
    *why = "copy " + std::to_string(copy) + " (version " + std::to_string(record.version.load()) +
           ") does not match its seal";
    return false;
  }
  const size_t blocks = SealBlocks(state_bytes_);
  for (size_t at = 0; at < blocks; at += kBlocksPerBeat) {
    size_t bad = 0;
    if (!BlocksMatch(CopyBase(copy), state_bytes_, sums, at, std::min(kBlocksPerBeat, blocks - at),
                     &bad)) {
      *why = "copy " + std::to_string(copy) + " (version " + std::to_string(record.version.load()) +
             "): bytes " + std::to_string(bad * kSealBlockBytes) + " on do not match their sum";
      return false;
    }
    if (receiver_) Heartbeat();
  }
  return true;
}

void HostSegment::MarkRunEnded() { header().run_ended.store(1); }

bool HostSegment::WriterPlausible(uint64_t word) const {
  return segment::WriterCopy(word) < copies_ &&
         segment::WriterPid(word) == header().receiver_pid.load();
}

HostSegment::Reader::Reader(std::shared_ptr<HostSegment> segment) : segment_(std::move(segment)) {
  ReaderSlot* slots = segment_->header().readers;
  const int32_t me = getpid();
  // Readers begin their checks at different places: together they cover a large state sooner.
  const size_t blocks = std::max<size_t>(1, SealBlocks(segment_->bytes()));
  cursor_ = static_cast<size_t>(static_cast<uint64_t>(me) * 2654435761u % blocks);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < kMaxReaders; ++i) {
      // First a free slot; then one whose process died.
      int32_t expected = 0;
      if (pass == 1) {
        expected = slots[i].pid.load();
        if (expected == 0 || IsLiveProcess(expected)) continue;
      }
      if (slots[i].pid.compare_exchange_strong(expected, me)) {
        slots[i].reading.store(0);
        slot_ = i;
        return;
      }
    }
  }
  throw common::Unavailable("shared snapshot '" + segment_->path() + "' has " +
                            std::to_string(kMaxReaders) + " readers already");
}

HostSegment::Reader::~Reader() {
  End();
  segment_->header().readers[slot_].pid.store(0);
}

bool HostSegment::Reader::TryBegin() {
  if (reading_) return true;
  SegmentHeader& h = segment_->header();
  ReaderSlot& slot = h.readers[slot_];
  const uint32_t copy = h.active.load();
  if (copy >= segment_->copies()) {
    segment_->RequestRebuild();  // not a copy: the receiver puts it right
    return false;
  }
  if (uint64_t writer = h.writer.load(); writer != 0 && segment::WriterCopy(writer) == copy) {
    if (!IsLiveProcess(segment::WriterPid(writer))) {
      h.writer.compare_exchange_strong(writer, 0);  // died writing: its copy stays unreadable
    } else if (!segment_->WriterPlausible(writer) && h.writer.compare_exchange_strong(writer, 0)) {
      segment_->RequestRebuild();  // not the receiver's: whoever wrote it may have written more
    }
    return false;
  }
  if (h.copy[copy].readable.load() == 0) return false;
  slot.reading.store(copy + 1);
  // The writer announces itself before it looks at readers, and this reader marks itself before
  // it looks at the writer: one of the two sees the other.
  const uint64_t writer = h.writer.load();
  if ((writer != 0 && segment::WriterCopy(writer) == copy) || h.copy[copy].readable.load() == 0) {
    slot.reading.store(0);
    return false;
  }
  copy_ = copy;
  reading_ = true;
  return true;
}

void HostSegment::Reader::End() {
  if (!reading_) return;
  segment_->header().readers[slot_].reading.store(0);
  reading_ = false;
}

bool HostSegment::Reader::Check(std::string* why) {
  const CopyRecord& record = segment_->header().copy[copy_];
  const size_t bytes = segment_->bytes();
  const uint64_t* sums = segment_->Sums(copy_);
  const uint64_t version = record.version.load();
  if (SealOf(sums, bytes, version, record.publisher.load(), record.stamp.load()) !=
      record.seal.load()) {
    *why = "copy " + std::to_string(copy_) + " of " + segment_->path() + " (version " +
           std::to_string(version) + ") does not match its seal";
    return false;
  }
  const size_t blocks = SealBlocks(bytes);
  if (blocks == 0) return true;
  const size_t count = std::min<size_t>(blocks, kCheckedBytesPerSwap / kSealBlockBytes);
  size_t bad = 0;
  if (!BlocksMatch(segment_->data(copy_), bytes, sums, cursor_, count, &bad)) {
    *why = "copy " + std::to_string(copy_) + " of " + segment_->path() + " (version " +
           std::to_string(version) + "): bytes " + std::to_string(bad * kSealBlockBytes) + " to " +
           std::to_string(std::min(bytes, (bad + 1) * kSealBlockBytes)) + " do not match their sum";
    return false;
  }
  cursor_ = (cursor_ + count) % blocks;
  return true;
}

}  // namespace rlrec::actors
