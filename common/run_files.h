#ifndef RLREC_COMMON_RUN_FILES_H_
#define RLREC_COMMON_RUN_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace rlrec::common {

// Reading a run folder's files while a run may be writing them (rlrec status, the learner's
// checkpoint age), locally or on a shared filesystem.

// A checkpoint file ckpt-<update>.pt.
struct CheckpointFile {
  std::string path;
  uint64_t update = 0;
  uint64_t bytes = 0;
  double age_s = 0;  // since it was last modified
};

// The ckpt-<update>.pt files in `dir`, by update, oldest first; none when `dir` is missing.
std::vector<CheckpointFile> ListCheckpoints(const std::string& dir);

// The complete lines (those ending in a newline) within the last `max_bytes` of the file at
// `path`, oldest first: the newest rows of a large JSON-lines file without reading it all.
// None when the file is missing. A first line cut by the byte limit is left out.
std::vector<std::string> TailLines(const std::string& path, size_t max_bytes = 1 << 20);

// Seconds since the file at `path` was last modified, or a negative number when it is missing.
double FileAgeSeconds(const std::string& path);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_FILES_H_
