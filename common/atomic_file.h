#ifndef RLREC_COMMON_ATOMIC_FILE_H_
#define RLREC_COMMON_ATOMIC_FILE_H_

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

}  // namespace rlrec::common

#endif  // RLREC_COMMON_ATOMIC_FILE_H_
