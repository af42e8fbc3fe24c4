#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

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
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    for (std::string_view piece : pieces) {
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    }
    if (!out.flush()) throw Unavailable("cannot write '" + temporary + "'");
  }
  if (durable) FsyncPath(temporary, O_RDONLY);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw Unavailable("cannot rename '" + temporary + "' to '" + path +
                      "': " + std::strerror(errno));
  }
  if (durable) {
    const auto slash = path.rfind('/');
    FsyncPath(slash == std::string::npos ? "." : path.substr(0, slash), O_RDONLY | O_DIRECTORY);
  }
}

}  // namespace rlrec::common
