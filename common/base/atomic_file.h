#ifndef RLREC_COMMON_BASE_ATOMIC_FILE_H_
#define RLREC_COMMON_BASE_ATOMIC_FILE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace rlrec::common {

// Writes `pieces`, one after another, to `path` through a temporary file in the same folder
// and a rename, so readers see the old file or the whole new one, never part of one. With
// `durable`, the file and then its folder are fsync'ed too, so the new file also survives a
// machine crash. Throws Error(kUnavailable) naming the file and the OS error (a full disk:
// "No space left on device") when it cannot write; the temporary file is removed then and
// the old file, if any, stays.
void WriteFileAtomically(const std::string& path, std::initializer_list<std::string_view> pieces,
                         bool durable = false);

// The same, for a file written as it is produced (a checkpoint of gigabytes, streamed without
// a copy in memory): Append pieces, optionally overwrite bytes already written (a header that
// depends on the rest), then Commit. Until Commit the file at `path` is untouched; a writer
// destroyed without Commit (or whose write failed) removes its temporary file. Every method
// throws Error(kUnavailable) naming the file and the OS error. Not thread-safe.
class AtomicFileWriter {
 public:
  AtomicFileWriter(const std::string& path, bool durable);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void Append(std::string_view bytes);
  // Writes `bytes` at `offset`, within what was appended.
  void WriteAt(uint64_t offset, std::string_view bytes);
  // Syncs (when durable), closes and renames the file into place.
  void Commit();

 private:
  [[noreturn]] void Fail(const std::string& what, int error);

  std::string path_, temporary_;
  bool durable_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_ATOMIC_FILE_H_
