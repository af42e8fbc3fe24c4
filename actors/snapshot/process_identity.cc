#include "actors/snapshot/process_identity.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

namespace rlrec::actors {
namespace {

// The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
// the state (field 3) first.
bool StatFields(int32_t pid, std::string* fields) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t end = line.rfind(')');
  if (end == std::string::npos || end + 2 > line.size()) return false;
  *fields = line.substr(end + 2);
  return true;
}

// The effective uid of `pid` (the second value of the Uid: line of /proc/PID/status), or -1.
long EffectiveUid(int32_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) != 0) continue;
    std::istringstream values(line.substr(4));
    long real = -1, effective = -1;
    values >> real >> effective;
    return effective;
  }
  return -1;
}

}  // namespace

uint64_t ProcessStartTime(int32_t pid) {
  std::string fields;
  if (pid <= 0 || !StatFields(pid, &fields)) return 0;
  std::istringstream in(fields);
  std::string field;
  // Field 3 (the state) is the first here; the start time is field 22.
  for (int i = 3; i < 22 && (in >> field); ++i) {
  }
  uint64_t start = 0;
  return (in >> start) ? start : 0;
}

bool IsLiveProcess(int32_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::string fields;
  if (!StatFields(pid, &fields)) return true;  // no /proc: as kill() says
  return fields.empty() || (fields[0] != 'Z' && fields[0] != 'X');
}

bool ProcessHoldsFile(int32_t pid, uint64_t start, int fd) {
  if (pid <= 0 || pid == getpid() || start == 0 || ProcessStartTime(pid) != start ||
      EffectiveUid(pid) != static_cast<long>(geteuid())) {
    return false;
  }
  struct stat mine {};
  if (fstat(fd, &mine) != 0) return false;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* fds = opendir(dir.c_str());
  if (!fds) return false;
  bool holds = false;
  while (const dirent* entry = readdir(fds)) {
    struct stat theirs {};
    if (entry->d_name[0] == '.') continue;
    if (stat((dir + "/" + entry->d_name).c_str(), &theirs) == 0 && theirs.st_dev == mine.st_dev &&
        theirs.st_ino == mine.st_ino) {
      holds = true;
      break;
    }
  }
  closedir(fds);
  // Still the same process after the look at its files (not ended and its pid reused meanwhile).
  return holds && ProcessStartTime(pid) == start;
}

}  // namespace rlrec::actors
