#ifndef RLREC_COMMON_BASE_CHECKSUM_H_
#define RLREC_COMMON_BASE_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace rlrec::common {

// The seed of a checksum that covers nothing before its bytes.
inline constexpr uint64_t kChecksumSeed = 1469598103934665603ull;

// A 64-bit checksum of `size` bytes at `data` (FNV-1a over 8-byte words, then the tail
// bytes), continuing from `seed` (the checksum of what came before): catches corrupted
// checkpoint payloads and weight chunks. Not cryptographic.
uint64_t Checksum64(const void* data, size_t size, uint64_t seed = kChecksumSeed);

// Checksum64 of bytes that arrive in pieces of any size: Update with each piece in order, then
// Final() equals Checksum64 of all of them at once. Not thread-safe.
class Checksum64Stream {
 public:
  void Update(const void* data, size_t size);
  uint64_t Final() const;

 private:
  uint64_t h_ = kChecksumSeed;
  unsigned char carry_[8] = {};  // the bytes of a word not yet complete
  size_t carried_ = 0;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_CHECKSUM_H_
