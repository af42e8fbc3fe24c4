#include "common/base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/base/error.h"

namespace rlrec::common {
namespace {

void FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    throw Unavailable("cannot open '" + path + "' to sync it: " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Unavailable("fsync '" + path + "': " + std::strerror(errno));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path, bool durable)
    : path_(path), temporary_(path + ".tmp"), durable_(durable) {
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) Fail("create", errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_.c_str());
}

void AtomicFileWriter::Fail(const std::string& what, int error) {
  // The temporary file goes, the old file stays, the error names the cause.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temporary_.c_str());
  throw Unavailable("cannot " + what + " '" + temporary_ + "' (for '" + path_ +
                    "'): " + std::strerror(error));
}

void AtomicFileWriter::Append(std::string_view bytes) {
  if (fd_ < 0) Fail("write", EBADF);
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("write", n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFileWriter::WriteAt(uint64_t offset, std::string_view bytes) {
  if (fd_ < 0) Fail("write", EBADF);
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("write", n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
}

void AtomicFileWriter::Commit() {
  if (fd_ < 0) Fail("write", EBADF);
  if (durable_ && ::fsync(fd_) != 0) Fail("sync", errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) Fail("close", errno);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) Fail("rename", errno);
  committed_ = true;
  if (durable_) {
    const auto slash = path_.rfind('/');
    FsyncPath(slash == std::string::npos ? "." : path_.substr(0, slash), O_RDONLY | O_DIRECTORY);
  }
}

void WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> pieces,
                         bool durable) {
  AtomicFileWriter file(path, durable);
  for (std::string_view piece : pieces) file.Append(piece);
  file.Commit();
}

}  // namespace rlrec::common
