#ifndef RLREC_COMMON_BASE_FILE_MODES_H_
#define RLREC_COMMON_BASE_FILE_MODES_H_

#include <sys/types.h>

#include <string>

namespace rlrec::common {

// Who may read what a run writes: its owner alone (umask 077), or with run.group_readable its
// owner's group too (umask 027); never other users. Checkpoints, snapshots, metrics, logs and
// keys all follow. rlrec-learner, rlrec-actor and rlrec call KeepRunFilesPrivate(false) first
// thing, before they write anything, then again with run.group_readable once they have read
// their config; their children (actors, the checkpoint writer, gnuplot) inherit the mask.

// A file's permission bits as four octal digits ("0600"), for messages.
std::string OctalMode(mode_t mode);

// The permission bits a run's files may not have: 077, or 027 when `group_readable`.
mode_t RunFileMask(bool group_readable);

// Sets the process's umask to RunFileMask(`group_readable`). Process-wide; call from main.
void KeepRunFilesPrivate(bool group_readable);

// Takes the bits RunFileMask(`group_readable`) forbids off the folder `path` (the run folder,
// made by an older rlrec or by hand with a wider mode: once the folder is closed, no other user
// reaches anything inside it, whatever its files' modes), logging a warning with the modes
// before and after. A folder owned by another user is only warned about; one that does not
// exist is left alone. Never throws: a folder that cannot be tightened is logged.
void TightenRunFolder(const std::string& path, bool group_readable);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_FILE_MODES_H_
