#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

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

void WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> pieces,
                         bool durable) {
  const std::string temporary = path + ".tmp";
  // On any failure: the temporary file goes, the old file stays, the error names the cause.
  const auto fail = [&](const std::string& what, int error, int fd) {
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    throw Unavailable("cannot " + what + " '" + temporary + "' (for '" + path +
                      "'): " + std::strerror(error));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("create", errno, -1);
  for (std::string_view piece : pieces) {
    while (!piece.empty()) {
      const ssize_t n = ::write(fd, piece.data(), piece.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("write", n < 0 ? errno : EIO, fd);
      piece.remove_prefix(static_cast<size_t>(n));
    }
  }
  if (durable && ::fsync(fd) != 0) fail("sync", errno, fd);
  if (::close(fd) != 0) fail("close", errno, -1);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) fail("rename", errno, -1);
  if (durable) {
    const auto slash = path.rfind('/');
    FsyncPath(slash == std::string::npos ? "." : path.substr(0, slash), O_RDONLY | O_DIRECTORY);
  }
}

}  // namespace rlrec::common
