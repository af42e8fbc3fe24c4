#include "actors/snapshot/state_seal.h"

#include <algorithm>

#include "common/base/checksum.h"

namespace rlrec::actors {
namespace {

uint64_t BlockSum(const uint8_t* state, size_t bytes, size_t block) {
  const size_t begin = block * kSealBlockBytes;
  return common::Checksum64(state + begin, std::min(kSealBlockBytes, bytes - begin),
                            common::kChecksumSeed ^ (block * 0x9e3779b97f4a7c15ull));
}

}  // namespace

void SumBlocks(const uint8_t* state, size_t bytes, size_t first, size_t last, uint64_t* sums) {
  for (size_t block = first; block < last; ++block) sums[block] = BlockSum(state, bytes, block);
}

uint64_t SealOf(const uint64_t* sums, size_t bytes, uint64_t version, uint64_t publisher,
                uint64_t stamp) {
  const uint64_t what[4] = {version, publisher, stamp, static_cast<uint64_t>(bytes)};
  const uint64_t seal = common::Checksum64(sums, SealBlocks(bytes) * sizeof(uint64_t),
                                           common::Checksum64(what, sizeof(what)));
  return seal == 0 ? 1 : seal;
}

bool BlocksMatch(const uint8_t* state, size_t bytes, const uint64_t* sums, size_t first,
                 size_t count, size_t* bad) {
  const size_t blocks = SealBlocks(bytes);
  if (blocks == 0) return true;
  count = std::min(count, blocks);
  for (size_t i = 0; i < count; ++i) {
    const size_t block = (first + i) % blocks;
    if (BlockSum(state, bytes, block) != sums[block]) {
      if (bad) *bad = block;
      return false;
    }
  }
  return true;
}

}  // namespace rlrec::actors
