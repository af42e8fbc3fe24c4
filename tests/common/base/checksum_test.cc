// A checksum of bytes that arrive in pieces equals the checksum of all of them at once,
// whatever the pieces (the checkpoint writer streams its payload through it).
#include "common/base/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>

namespace rlrec::common {
namespace {

TEST(Checksum64StreamTest, PiecesOfAnySizeGiveTheChecksumOfTheWhole) {
  std::mt19937 random(3);
  std::string bytes(10007, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  const uint64_t whole = Checksum64(bytes.data(), bytes.size());
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{13}, size_t{4096}}) {
    Checksum64Stream stream;
    for (size_t at = 0; at < bytes.size(); at += piece) {
      stream.Update(bytes.data() + at, std::min(piece, bytes.size() - at));
    }
    EXPECT_EQ(stream.Final(), whole) << "pieces of " << piece;
  }
  Checksum64Stream changed;
  bytes[5000] ^= 1;
  changed.Update(bytes.data(), bytes.size());
  EXPECT_NE(changed.Final(), whole);
  EXPECT_EQ(Checksum64Stream().Final(), Checksum64(nullptr, 0));
}

}  // namespace
}  // namespace rlrec::common
