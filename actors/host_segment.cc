#include "actors/host_segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

#include "common/checksum.h"
#include "common/error.h"

namespace rlrec::actors {

struct ReaderSlot {
  std::atomic<int32_t> pid;       // the reading process; 0: free
  std::atomic<uint32_t> reading;  // 1 during a read
};

struct SegmentHeader {
  char magic[8];
  uint32_t layout;
  uint32_t max_readers;
  uint64_t run_sum;       // Checksum64 of the run id
  uint64_t manifest_sum;  // ManifestSum of the model's manifest
  uint64_t state_bytes;
  uint64_t state_offset;
  char run_id[128];                 // the run id, for messages (cut, NUL-terminated)
  std::atomic<uint64_t> version;    // of the state
  std::atomic<uint64_t> publisher;  // of the state
  std::atomic<uint32_t> readable;   // 0 until the first write ends, and during every write
  std::atomic<uint64_t> writes;
  std::atomic<int32_t> writer_pid;  // the receiver while it waits to write and writes; else 0
  std::atomic<uint32_t> run_ended;
  ReaderSlot readers[HostSegment::kMaxReaders];
};

namespace {

constexpr char kMagic[8] = {'R', 'L', 'R', 'E', 'C', 'S', 'H', 'M'};
constexpr uint32_t kLayout = 1;
// The state starts on a 64 KiB boundary: every tensor view of it is aligned.
constexpr size_t kStateAlign = size_t{64} << 10;
constexpr off_t kReceiverByte = 0;  // write-locked by the receiver
constexpr off_t kHolderByte = 1;    // read-locked by every process that maps the segment

static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<int32_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the header's atomics must work across processes");

size_t StateOffset() {
  return (sizeof(SegmentHeader) + kStateAlign - 1) / kStateAlign * kStateAlign;
}

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

bool Alive(int32_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

// Whether `fd` is still the file at `path` (not removed, nor replaced, since it was opened).
bool StillAt(int fd, const std::string& path) {
  struct stat by_fd {
  }, by_path{};
  return fstat(fd, &by_fd) == 0 && stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Builds a segment under a temporary name and links it to `path`. Returns its descriptor, read-
// locked, or -1 when another process linked one first (or a cleaner took the temporary file).
int CreateSegment(const std::string& dir, const std::string& path, const std::string& run_id,
                  const std::vector<common::ParamSpec>& manifest) {
  static std::atomic<uint64_t> counter{0};
  const std::string temp = dir + "/." + path.substr(dir.size() + 1) + ".tmp-" +
                           std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd = open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw common::Unavailable(Errno("cannot create shared snapshot '" + temp + "'"));
  const auto fail = [&](const std::string& what) {
    const std::string message = Errno(what);
    close(fd);
    unlink(temp.c_str());
    return common::Unavailable(message);
  };
  if (!LockByte(fd, F_RDLCK, kHolderByte)) throw fail("cannot lock '" + temp + "'");
  const size_t total = StateOffset() + StateBytes(manifest);
  // Reserve every page now: a full tmpfs then says so here, instead of killing a process
  // with SIGBUS when it first writes to a page that has no memory behind it.
  if (const int rc = posix_fallocate(fd, 0, static_cast<off_t>(total)); rc != 0) {
    errno = rc;
    throw fail("cannot reserve " + std::to_string(total) + " bytes for shared snapshot '" + path +
               "' (is " + dir + " full?)");
  }
  void* map = mmap(nullptr, sizeof(SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) throw fail("cannot map '" + temp + "'");
  auto* header = new (map) SegmentHeader{};
  std::memcpy(header->magic, kMagic, sizeof(kMagic));
  header->layout = kLayout;
  header->max_readers = HostSegment::kMaxReaders;
  header->run_sum = common::Checksum64(run_id.data(), run_id.size());
  header->manifest_sum = ManifestSum(manifest);
  header->state_bytes = StateBytes(manifest);
  header->state_offset = StateOffset();
  std::snprintf(header->run_id, sizeof(header->run_id), "%s", run_id.c_str());
  munmap(map, sizeof(SegmentHeader));
  if (link(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    close(fd);
    unlink(temp.c_str());
    if (error == EEXIST || error == ENOENT) return -1;
    errno = error;
    throw common::Unavailable(Errno("cannot link shared snapshot '" + path + "'"));
  }
  unlink(temp.c_str());
  return fd;
}

// Throws Error(kInvalidInput) unless `header` (of a file of `file_bytes`) is a segment of
// `run_id` and `manifest`.
void CheckHeader(const SegmentHeader& header, size_t file_bytes, const std::string& path,
                 const std::string& run_id, const std::vector<common::ParamSpec>& manifest) {
  const std::string where = "shared snapshot '" + path + "'";
  if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0 || header.layout != kLayout ||
      header.max_readers != HostSegment::kMaxReaders || header.state_offset != StateOffset()) {
    throw common::InvalidInput(where + " is not an rlrec segment of this build's layout");
  }
  if (header.run_sum != common::Checksum64(run_id.data(), run_id.size())) {
    char other[sizeof(header.run_id)];
    std::memcpy(other, header.run_id, sizeof(other));
    other[sizeof(other) - 1] = '\0';
    throw common::InvalidInput(where + " belongs to run '" + other + "', this actor is in run '" +
                               run_id + "'");
  }
  const uint64_t expected = StateBytes(manifest);
  if (header.state_bytes != expected || file_bytes != StateOffset() + expected) {
    throw common::InvalidInput(where + " holds " + std::to_string(header.state_bytes) +
                               " bytes of state in a file of " + std::to_string(file_bytes) +
                               ", this model needs " + std::to_string(expected) + " in " +
                               std::to_string(StateOffset() + expected));
  }
  if (header.manifest_sum != ManifestSum(manifest)) {
    throw common::InvalidInput(where + " is laid out for another model than this actor's");
  }
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
                                               const std::vector<common::ParamSpec>& manifest) {
  const std::string path = dir + "/" + name;
  for (int attempt = 0; attempt < 20; ++attempt) {
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      fd = CreateSegment(dir, path, run_id, manifest);
      if (fd < 0) continue;  // another process made it first: open theirs
    } else if (fd < 0) {
      throw common::Unavailable(Errno("cannot open shared snapshot '" + path + "'"));
    } else if (!LockByte(fd, F_RDLCK, kHolderByte) || !StillAt(fd, path)) {
      close(fd);  // being removed by a cleaner, or already gone: look again
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      close(fd);
      throw common::Unavailable(Errno("cannot stat shared snapshot '" + path + "'"));
    }
    const auto file_bytes = static_cast<size_t>(st.st_size);
    if (file_bytes < sizeof(SegmentHeader)) {
      close(fd);
      throw common::InvalidInput("shared snapshot '" + path + "' holds " +
                                 std::to_string(file_bytes) + " bytes: not an rlrec segment");
    }
    void* map = mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
      close(fd);
      throw common::Unavailable(Errno("cannot map shared snapshot '" + path + "'"));
    }
    try {
      CheckHeader(*static_cast<const SegmentHeader*>(map), file_bytes, path, run_id, manifest);
    } catch (const common::Error&) {
      munmap(map, file_bytes);
      close(fd);
      throw;
    }
    std::shared_ptr<HostSegment> segment(new HostSegment());
    segment->path_ = path;
    segment->run_id_ = run_id;
    segment->manifest_ = manifest;
    segment->fd_ = fd;
    segment->map_ = map;
    segment->map_bytes_ = file_bytes;
    segment->header_ = static_cast<SegmentHeader*>(map);
    segment->state_ = static_cast<uint8_t*>(map) + StateOffset();
    segment->state_bytes_ = StateBytes(manifest);
    return segment;
  }
  throw common::Unavailable("shared snapshot '" + path + "' kept changing while it was opened");
}

bool HostSegment::RemoveIfUnused(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool removed =
      LockByte(fd, F_WRLCK, kHolderByte) && StillAt(fd, path) && unlink(path.c_str()) == 0;
  close(fd);
  return removed;
}

int HostSegment::RemoveStaleSegments(const std::string& dir) {
  DIR* folder = opendir(dir.c_str());
  if (!folder) return 0;
  std::vector<std::string> names;
  while (const dirent* entry = readdir(folder)) {
    const std::string name = entry->d_name;
    if (name.rfind(kPrefix, 0) == 0 || name.rfind(std::string(".") + kPrefix, 0) == 0) {
      names.push_back(name);
    }
  }
  closedir(folder);
  int removed = 0;
  for (const std::string& name : names) removed += RemoveIfUnused(dir + "/" + name) ? 1 : 0;
  return removed;
}

HostSegment::~HostSegment() {
  munmap(map_, map_bytes_);
  // The last holder removes the file: the write lock is granted only when no other process
  // (nor another open in this one) holds the segment.
  if (LockByte(fd_, F_WRLCK, kHolderByte) && StillAt(fd_, path_)) unlink(path_.c_str());
  close(fd_);
}

bool HostSegment::readable() const { return header().readable.load() != 0; }
uint64_t HostSegment::version() const { return header().version.load(); }
uint64_t HostSegment::publisher() const { return header().publisher.load(); }
bool HostSegment::run_ended() const { return header().run_ended.load() != 0; }
uint64_t HostSegment::writes() const { return header().writes.load(); }

bool HostSegment::TryBecomeReceiver() {
  if (!receiver_) receiver_ = LockByte(fd_, F_WRLCK, kReceiverByte);
  return receiver_;
}

bool HostSegment::BeginWrite(common::Deadline deadline, const std::atomic<bool>& stop) {
  SegmentHeader& h = header();
  h.writer_pid.store(getpid());  // from here on, readers do not begin
  for (;;) {
    bool busy = false;
    for (ReaderSlot& slot : h.readers) {
      if (slot.reading.load() == 0) continue;
      if (Alive(slot.pid.load())) {
        busy = true;
      } else {
        slot.reading.store(0);  // died reading: it reads no more
      }
    }
    if (!busy) {
      h.readable.store(0);  // a write that dies half-way leaves nothing readable
      return true;
    }
    if (stop || common::Clock::now() >= deadline) {
      h.writer_pid.store(0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void HostSegment::EndWrite(uint64_t version, uint64_t publisher) {
  SegmentHeader& h = header();
  h.publisher.store(publisher);
  h.version.store(version);
  h.readable.store(1);
  h.writes.fetch_add(1);
  h.writer_pid.store(0);
}

void HostSegment::AbandonWrite() { header().writer_pid.store(0); }

void HostSegment::MarkRunEnded() { header().run_ended.store(1); }

HostSegment::Reader::Reader(std::shared_ptr<HostSegment> segment) : segment_(std::move(segment)) {
  ReaderSlot* slots = segment_->header().readers;
  const int32_t me = getpid();
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < kMaxReaders; ++i) {
      // First a free slot; then one whose process died.
      int32_t expected = 0;
      if (pass == 1) {
        expected = slots[i].pid.load();
        if (expected == 0 || Alive(expected)) continue;
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
  if (const int32_t writer = h.writer_pid.load(); writer != 0) {
    int32_t expected = writer;
    if (!Alive(writer)) h.writer_pid.compare_exchange_strong(expected, 0);  // died writing
    return false;
  }
  if (h.readable.load() == 0) return false;
  slot.reading.store(1);
  // The writer announces itself before it looks at readers, and this reader marks itself before
  // it looks at the writer: one of the two sees the other.
  if (h.writer_pid.load() != 0 || h.readable.load() == 0) {
    slot.reading.store(0);
    return false;
  }
  reading_ = true;
  return true;
}

void HostSegment::Reader::End() {
  if (!reading_) return;
  segment_->header().readers[slot_].reading.store(0);
  reading_ = false;
}

}  // namespace rlrec::actors
