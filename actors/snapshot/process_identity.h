#ifndef RLREC_ACTORS_SNAPSHOT_PROCESS_IDENTITY_H_
#define RLREC_ACTORS_SNAPSHOT_PROCESS_IDENTITY_H_

#include <cstdint>

// Which process a pid names, from /proc: a pid recorded in a shared file may have been reused
// by another process since, or written there by anyone who could write the file.
namespace rlrec::actors {

// The start time of process `pid` (clock ticks after boot, field 22 of /proc/PID/stat), or 0
// when there is no such process or it cannot be read. A pid and its start time name one process
// for the life of the host.
uint64_t ProcessStartTime(int32_t pid);

// Whether `pid` names a process that has not exited (a zombie has: its files are closed).
bool IsLiveProcess(int32_t pid);

// Whether `pid` is another process than this one, started at `start`, running as this
// process's effective user, and holding open the very file that `fd` (a descriptor of this
// process) refers to. Only then may this process end it.
bool ProcessHoldsFile(int32_t pid, uint64_t start, int fd);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_PROCESS_IDENTITY_H_
