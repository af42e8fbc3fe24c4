#ifndef RLREC_COMMON_CHECKSUM_H_
#define RLREC_COMMON_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace rlrec::common {

// The seed of a checksum that covers nothing before its bytes.
inline constexpr uint64_t kChecksumSeed = 1469598103934665603ull;

// A 64-bit checksum of `size` bytes at `data` (FNV-1a over 8-byte words, then the tail
// bytes), continuing from `seed` (the checksum of what came before): catches corrupted
// checkpoint payloads and weight chunks. Not cryptographic.
uint64_t Checksum64(const void* data, size_t size, uint64_t seed = kChecksumSeed);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CHECKSUM_H_
