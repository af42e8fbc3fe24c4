#include "common/base/file_modes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/base/logging.h"

namespace rlrec::common {
std::string OctalMode(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

mode_t RunFileMask(bool group_readable) { return group_readable ? 027 : 077; }

void KeepRunFilesPrivate(bool group_readable) { ::umask(RunFileMask(group_readable)); }

void TightenRunFolder(const std::string& path, bool group_readable) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  const mode_t forbidden = st.st_mode & RunFileMask(group_readable) & 0777;
  if (forbidden == 0) return;
  const std::string who = group_readable ? "the owner and its group" : "its owner";
  if (st.st_uid != ::geteuid()) {
    RLREC_LOG(Warning) << "run folder " << path << " (mode " << OctalMode(st.st_mode)
                       << ") belongs to user " << st.st_uid
                       << ", not this one: it stays readable by more than " << who;
    return;
  }
  const mode_t tightened = st.st_mode & 07777 & ~forbidden;
  if (::chmod(path.c_str(), tightened) != 0) {
    RLREC_LOG(Warning) << "run folder " << path << " (mode " << OctalMode(st.st_mode)
                       << ") could not be made private to " << who << ": " << std::strerror(errno);
    return;
  }
  RLREC_LOG(Warning) << "run folder " << path << " was mode " << OctalMode(st.st_mode) << ": now "
                     << OctalMode(tightened) << ", so that only " << who
                     << " can reach the run's files";
}

}  // namespace rlrec::common
