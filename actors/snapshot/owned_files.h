#ifndef RLREC_ACTORS_SNAPSHOT_OWNED_FILES_H_
#define RLREC_ACTORS_SNAPSHOT_OWNED_FILES_H_

#include <string>

// Files and folders that belong to this process's user, for the host's shared snapshot
// (actors/snapshot/host_segment.h): a shared-memory folder such as /dev/shm is writable by every
// local user, so what is found there is used only when this user made it and nobody else can write
// it.
namespace rlrec::actors {

// This user's private folder in `shm_dir`: `shm_dir`/rlrec-<effective uid>, made with mode 0700
// when missing. Returns its path. Throws Error(kInvalidInput) naming the path, its owner and
// mode when what is there is not a folder of this user's that only this user can open (a
// symlink, a file, another user's folder, a mode wider than 0700), and Error(kUnavailable)
// when it cannot be made.
std::string MakePrivateFolder(const std::string& shm_dir);

// Opens the folder `path` without following a symlink and checks it as MakePrivateFolder does.
// Returns its descriptor (the caller closes it); throws as MakePrivateFolder.
int OpenPrivateFolder(const std::string& path);

// Throws Error(kInvalidInput) naming `path`, its owner and mode unless `fd` (opened from
// `path`) is a regular file of this user's with a mode of 0600 or narrower.
void CheckPrivateFile(int fd, const std::string& path);

// Removes the folder `path` when it is empty. Never throws.
void RemoveFolderIfEmpty(const std::string& path);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SNAPSHOT_OWNED_FILES_H_
