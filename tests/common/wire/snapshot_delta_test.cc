// Delta snapshots on their own: a delta rebuilds its version on exactly its base, and anything
// else (another base, rows out of range, shapes that do not fit, a wrong state checksum) is
// refused with a clear error before a byte is written. And a delta travels through the
// chunk assembler like a full snapshot, within its own size limits.
#include "common/wire/snapshot_delta.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/base/error.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// A model of a dense vector of 3 floats and a table of 5 rows x 2 floats, at `version`, every
// float equal to `fill`.
std::shared_ptr<SnapshotBlob> Full(uint64_t version, float fill) {
  auto blob = std::make_shared<SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  blob->manifest = {{"dense", DType::kFloat32, {3}}, {"table", DType::kFloat32, {5, 2}}};
  std::vector<float> values(13, fill);
  blob->bytes.resize(values.size() * 4);
  std::memcpy(blob->bytes.data(), values.data(), blob->bytes.size());
  return blob;
}

// Appends the bytes of `values` to `blob`.
template <typename T>
void Append(SnapshotBlob& blob, const std::vector<T>& values) {
  const size_t at = blob.bytes.size();
  blob.bytes.resize(at + values.size() * sizeof(T));
  std::memcpy(blob.bytes.data() + at, values.data(), values.size() * sizeof(T));
}

// A delta on version `base` that sets the dense vector to `dense` and the rows `ids` to the
// values `rows` (2 floats each).
std::shared_ptr<SnapshotBlob> Delta(uint64_t version, uint64_t base, float dense,
                                    const std::vector<int64_t>& ids,
                                    const std::vector<float>& rows) {
  auto blob = std::make_shared<SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  blob->base_version = base;
  const int64_t n = static_cast<int64_t>(ids.size());
  blob->manifest = {{"dense", DType::kFloat32, {3}},
                    {std::string("table") + kDeltaRowsSuffix, DType::kInt64, {n}},
                    {std::string("table") + kDeltaValuesSuffix, DType::kFloat32, {n, 2}}};
  Append(*blob, std::vector<float>(3, dense));
  Append(*blob, ids);
  Append(*blob, rows);
  return blob;
}

std::vector<float> Floats(const SnapshotBlob& blob) {
  std::vector<float> out(blob.bytes.size() / 4);
  std::memcpy(out.data(), blob.bytes.data(), blob.bytes.size());
  return out;
}

// Runs `f`, expecting Error(kInvalidInput) whose message holds `needle`.
template <typename F>
void ExpectRefused(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "not refused; expected an error with '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(SnapshotDeltaTest, ADeltaRebuildsItsVersionOnItsBaseAndLeavesTheBaseAlone) {
  const auto base = Full(7, 1.0f);
  const auto delta = Delta(8, 7, 2.0f, {4, 1}, {40, 41, 10, 11});
  const auto rebuilt = ApplyDelta(*base, *delta);
  EXPECT_EQ(rebuilt->version, 8u);
  EXPECT_FALSE(rebuilt->is_delta());
  EXPECT_EQ(rebuilt->manifest.size(), base->manifest.size());
  const std::vector<float> want = {2, 2, 2,             // dense, whole
                                   1, 1, 10, 11, 1, 1,  // rows 0..2
                                   1, 1, 40, 41};       // rows 3..4
  EXPECT_EQ(Floats(*rebuilt), want);
  EXPECT_EQ(Floats(*base), std::vector<float>(13, 1.0f));

  // With the learner's checksum of the state it rebuilds: accepted when it matches.
  auto verified = Delta(8, 7, 2.0f, {4, 1}, {40, 41, 10, 11});
  verified->state_checksum = StateChecksum(*rebuilt);
  EXPECT_EQ(ApplyDelta(*base, *verified)->bytes, rebuilt->bytes);
}

TEST(SnapshotDeltaTest, ADeltaOnAnotherVersionIsRefusedAsAMissedVersion) {
  const auto base = Full(7, 1.0f);
  ExpectRefused(
      [&] {
        ApplyDelta(*base, *Delta(9, 8, 2.0f, {0}, {0, 0}));
      },
      "applies to version 8, this receiver holds version 7");
  ExpectRefused([&] { ApplyDelta(*base, *Full(8, 2.0f)); }, "is a full snapshot, not a delta");
  auto foreign = Delta(8, 7, 2.0f, {0}, {0, 0});
  foreign->run_id = "other";
  ExpectRefused([&] { ApplyDelta(*base, *foreign); }, "of run 'other'");
  auto resumed = Delta(8, 7, 2.0f, {0}, {0, 0});  // a learner restarted: versions count anew
  resumed->publisher = 99;
  ExpectRefused([&] { ApplyDelta(*base, *resumed); }, "comes from another learner process");
}

TEST(SnapshotDeltaTest, RowsOutOfRangeOrShapesThatDoNotFitAreRefusedBeforeAnythingIsWritten) {
  const auto base = Full(7, 1.0f);
  ExpectRefused(
      [&] {
        ApplyDelta(*base, *Delta(8, 7, 2.0f, {1, 5}, {0, 0, 0, 0}));
      },
      "changed row 1 is row 5 of a table of 5 rows");
  ExpectRefused([&] { ApplyDelta(*base, *Delta(8, 7, 2.0f, {-1}, {0, 0})); }, "is row -1");

  auto wide = Delta(8, 7, 2.0f, {1}, {0, 0, 0});  // a row of 3 floats in a table of 2
  wide->manifest[2].shape = {1, 3};
  ExpectRefused([&] { ApplyDelta(*base, *wide); }, "do not fit the model's 'table'");
  auto many = Delta(8, 7, 2.0f, {0, 1, 2, 3, 4, 0}, std::vector<float>(12, 0));
  ExpectRefused([&] { ApplyDelta(*base, *many); }, "do not fit");
  auto stranger = Delta(8, 7, 2.0f, {1}, {0, 0});
  stranger->manifest[0].name = "other";
  ExpectRefused([&] { ApplyDelta(*base, *stranger); }, "entry 0 is 'other'");
  auto short_bytes = Delta(8, 7, 2.0f, {1}, {0, 0});
  short_bytes->bytes.resize(short_bytes->bytes.size() - 4);
  ExpectRefused([&] { ApplyDelta(*base, *short_bytes); }, "its manifest describes");
  auto extra = Delta(8, 7, 2.0f, {1}, {0, 0});
  extra->manifest.push_back({"more", DType::kFloat32, {1}});
  ExpectRefused([&] { CheckDeltaManifest(base->manifest, extra->manifest, 8); },
                "'more' float32[1] is not in the model");

  auto wrong_sum = Delta(8, 7, 2.0f, {1}, {0, 0});
  wrong_sum->state_checksum = 12345;
  ExpectRefused([&] { ApplyDelta(*base, *wrong_sum); },
                "does not match the learner's checksum; re-sync");
}

TEST(SnapshotDeltaTest, ADeltaTravelsInChunksWithinItsOwnSizeLimit) {
  ZmqContext context;
  testing::LoopbackPipe pipe(context);
  const auto base = Full(7, 1.0f);
  SnapshotAssembler assembler({"run", base->manifest});
  auto delta = Delta(8, 7, 2.0f, {4, 1}, {40, 41, 10, 11});
  delta->state_checksum = 99;
  std::shared_ptr<const SnapshotBlob> got;
  for (const auto& chunk : EncodeWeightChunks(delta, 16)) {
    if (auto done = assembler.Add(pipe.Deliver(chunk))) got = done;
  }
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->base_version, 7u);
  EXPECT_EQ(got->state_checksum, 99u);
  EXPECT_EQ(got->bytes, delta->bytes);
  EXPECT_EQ(got->manifest.size(), 3u);

  // A delta may exceed the full snapshot by its row ids, no more; a full one is exact.
  EXPECT_EQ(MaxDeltaBytes(base->manifest), 52u + 5 * 8);
  testing::CraftedChunk huge;
  huge.version = 9;
  huge.base_version = 8;
  huge.total_bytes = MaxDeltaBytes(base->manifest) + 8;
  ExpectRefused([&] { assembler.Add(pipe.Deliver(testing::CraftWeightChunk(huge))); },
                "this actor's model allows 92");
  // A delta whose rows do not fit the model is refused at its manifest, in chunk 0.
  auto wide = Delta(9, 8, 2.0f, {1}, {0, 0, 0});
  wide->manifest[2].shape = {1, 3};
  ExpectRefused(
      [&] {
        for (const auto& chunk : EncodeWeightChunks(wide, 1 << 20)) {
          assembler.Add(pipe.Deliver(chunk));
        }
      },
      "do not fit the model's 'table'");
  // Chunks that disagree on the base are refused: one version, one base.
  auto first = Delta(10, 9, 2.0f, {1}, {0, 0});
  auto other = Delta(10, 8, 2.0f, {1}, {0, 0});
  const auto a = EncodeWeightChunks(first, 16);
  const auto b = EncodeWeightChunks(other, 16);
  EXPECT_EQ(assembler.Add(pipe.Deliver(a[0])), nullptr);
  ExpectRefused([&] { assembler.Add(pipe.Deliver(b[1])); },
                "disagrees with earlier chunks on the chunk count, size or base");
  // A delta "on" its own or a later version is nonsense.
  huge.total_bytes = 16;
  huge.base_version = 9;
  ExpectRefused([&] { assembler.Add(pipe.Deliver(testing::CraftWeightChunk(huge))); },
                "is a delta on the later version 9");
}

}  // namespace
}  // namespace rlrec::common
