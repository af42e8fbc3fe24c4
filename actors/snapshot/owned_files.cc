#include "actors/snapshot/owned_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/base/error.h"
#include "common/base/file_modes.h"

namespace rlrec::actors {
namespace {

std::string Kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISREG(mode)) return "a file";
  if (S_ISLNK(mode)) return "a symlink";
  return "a special file";
}

// "owned by uid 65534, mode 0755": what is found at `path`, for a refusal.
std::string Found(const struct stat& st) {
  return Kind(st.st_mode) + " owned by uid " + std::to_string(st.st_uid) + ", mode " +
         common::OctalMode(st.st_mode);
}

std::string Me() { return "this user (uid " + std::to_string(geteuid()) + ")"; }

}  // namespace

int OpenPrivateFolder(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0 && (error == ELOOP || error == ENOTDIR)) {
      throw common::InvalidInput("shared snapshot folder '" + path + "' is " + Found(st) +
                                 ", not a folder of " + Me());
    }
    throw common::Unavailable("cannot open shared snapshot folder '" + path +
                              "': " + std::strerror(error));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & 077) != 0) {
    close(fd);
    throw common::InvalidInput("shared snapshot folder '" + path + "' is " + Found(st) +
                               "; it must be " + Me() + "'s alone, mode 0700");
  }
  return fd;
}

std::string MakePrivateFolder(const std::string& shm_dir) {
  const std::string path = shm_dir + "/rlrec-" + std::to_string(geteuid());
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw common::Unavailable("cannot make shared snapshot folder '" + path +
                              "': " + std::strerror(errno));
  }
  close(OpenPrivateFolder(path));
  return path;
}

void CheckPrivateFile(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw common::Unavailable("cannot stat shared snapshot '" + path +
                              "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    throw common::InvalidInput("shared snapshot '" + path + "' is " + Found(st) + "; it must be " +
                               Me() + "'s alone, mode 0600");
  }
}

void RemoveFolderIfEmpty(const std::string& path) {
  rmdir(path.c_str());  // fails, harmlessly, while it holds anything
}

}  // namespace rlrec::actors
