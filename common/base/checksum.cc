#include "common/base/checksum.h"

#include <algorithm>
#include <cstring>

namespace rlrec::common {

uint64_t Checksum64(const void* data, size_t size, uint64_t seed) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = seed;
  constexpr uint64_t kPrime = 1099511628211ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    h = (h ^ word) * kPrime;
  }
  for (; i < size; ++i) h = (h ^ bytes[i]) * kPrime;
  return h;
}

void Checksum64Stream::Update(const void* data, size_t size) {
  if (size == 0) return;  // LibTorch hands empty records as (nullptr, 0)
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (carried_ > 0) {  // complete the word begun by the previous piece
    const size_t take = std::min(size, 8 - carried_);
    std::memcpy(carry_ + carried_, bytes, take);
    carried_ += take;
    bytes += take;
    size -= take;
    if (carried_ < 8) return;
    h_ = Checksum64(carry_, 8, h_);
    carried_ = 0;
  }
  const size_t words = size / 8 * 8;
  h_ = Checksum64(bytes, words, h_);
  carried_ = size - words;
  std::memcpy(carry_, bytes + words, carried_);
}

uint64_t Checksum64Stream::Final() const { return Checksum64(carry_, carried_, h_); }

}  // namespace rlrec::common
