#include "common/wire/weights_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "tests/test_util.h"

namespace rlrec::common {
namespace {

using testing::LoopbackPipe;

std::shared_ptr<SnapshotBlob> MakeBlob(uint64_t version, size_t floats) {
  auto blob = std::make_shared<SnapshotBlob>();
  blob->run_id = "run-a";
  blob->version = version;
  blob->manifest = {{"w", DType::kFloat32, {static_cast<int64_t>(floats) - 3}},
                    {"b", DType::kFloat32, {3}}};
  blob->bytes.resize(floats * 4);
  for (size_t i = 0; i < blob->bytes.size(); ++i) blob->bytes[i] = uint8_t(i * 7 + version);
  return blob;
}

TEST(WeightsCodecTest, ChunkedSnapshotReassemblesExactly) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  auto blob = MakeBlob(5, 100000);  // 400 KB in 64 KiB chunks: 7 messages
  auto chunks = EncodeWeightChunks(blob, 64 * 1024);
  ASSERT_EQ(chunks.size(), 7u);
  SnapshotAssembler assembler;
  std::shared_ptr<const SnapshotBlob> done;
  for (size_t i = 0; i < chunks.size(); ++i) {
    done = assembler.Add(pipe.Deliver(chunks[i]));
    if (i + 1 < chunks.size()) {
      EXPECT_EQ(done, nullptr) << "complete after chunk " << i;
    }
  }
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->version, 5u);
  EXPECT_EQ(done->run_id, "run-a");
  EXPECT_EQ(done->bytes, blob->bytes);
  ASSERT_EQ(done->manifest.size(), 2u);
  EXPECT_EQ(done->manifest[0].name, "w");
  EXPECT_EQ(done->manifest[0].shape, std::vector<int64_t>{99997});
}

TEST(WeightsCodecTest, ChunksArrivingInAnyOrderStillAssemble) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  auto blob = MakeBlob(2, 5000);
  auto chunks = EncodeWeightChunks(blob, 4096);
  SnapshotAssembler assembler;
  std::shared_ptr<const SnapshotBlob> done;
  for (size_t i = chunks.size(); i-- > 0;) done = assembler.Add(pipe.Deliver(chunks[i]));
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->bytes, blob->bytes);
}

TEST(WeightsCodecTest, NewerVersionSupersedesAnIncompleteOlderOne) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  auto old_chunks = EncodeWeightChunks(MakeBlob(1, 5000), 4096);
  auto new_chunks = EncodeWeightChunks(MakeBlob(2, 5000), 4096);
  SnapshotAssembler assembler;
  EXPECT_EQ(assembler.Add(pipe.Deliver(old_chunks[0])), nullptr);  // version 1 loses a chunk
  std::shared_ptr<const SnapshotBlob> done;
  for (const auto& c : new_chunks) done = assembler.Add(pipe.Deliver(c));
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->version, 2u);
  EXPECT_EQ(assembler.abandoned_versions(), 1u);
  // The rest of version 1 arrives late: ignored, not returned as a regression.
  for (const auto& c : old_chunks) EXPECT_EQ(assembler.Add(pipe.Deliver(c)), nullptr);
}

TEST(WeightsCodecTest, MalformedChunkIsRefusedAndTheAssemblerStaysUsable) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler;
  EXPECT_THROW(assembler.Add(pipe.DeliverRaw({kWeightsTopic, std::string(40, '\x13')})), Error);
  EXPECT_THROW(assembler.Add(pipe.DeliverRaw({kWeightsTopic})), Error);
  auto blob = MakeBlob(3, 100);
  std::shared_ptr<const SnapshotBlob> done;
  for (const auto& c : EncodeWeightChunks(blob, 1 << 20)) done = assembler.Add(pipe.Deliver(c));
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->bytes, blob->bytes);
}

TEST(WeightsCodecTest, ChunkAnnouncingMoreThanTheLimitIsRefused) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler({"", {}, /*max_bytes=*/1000});
  auto chunks = EncodeWeightChunks(MakeBlob(1, 5000), 1 << 20);
  try {
    assembler.Add(pipe.Deliver(chunks[0]));
    FAIL() << "accepted a 20000-byte snapshot under a 1000-byte limit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("limit 1000"), std::string::npos) << e.what();
  }
}

TEST(WeightsCodecTest, RunEndedCarriesItsReason) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  auto frames = pipe.Deliver(EncodeRunEnded("run-a", "time budget"));
  ASSERT_NE(frames, nullptr);
  EXPECT_EQ(frames->view(0), kRunEndedTopic);
  EXPECT_EQ(DecodeRunEnded(frames).reason, "time budget");
  EXPECT_EQ(DecodeRunEnded(frames).run_id, "run-a");
}

// What an actor expects of run-a's snapshots: MakeBlob(version, 5000)'s manifest.
SnapshotRules RunARules() { return {"run-a", MakeBlob(0, 5000)->manifest}; }

// The message Add throws for `message`, or "accepted".
std::string RefusalOf(SnapshotAssembler& assembler, std::shared_ptr<const Multipart> message) {
  try {
    assembler.Add(std::move(message));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "accepted";
}

TEST(WeightsCodecTest, AChunkAnnouncingAnotherModelsSizeIsRefusedBeforeAnyAllocation) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler(RunARules());
  testing::CraftedChunk huge;
  huge.run_id = "run-a";
  huge.total_bytes = uint64_t{4} << 30;  // 4 GiB announced by an 800-byte message
  huge.count = 2;
  huge.manifest = {{"w", DType::kFloat32, {1 << 30}}};
  EXPECT_NE(RefusalOf(assembler, pipe.Deliver(testing::CraftWeightChunk(huge)))
                .find("this actor's model has 20000"),
            std::string::npos);
  huge.total_bytes = 20000;
  huge.count = uint32_t{1} << 31;  // a chunk count that would need a 2G-entry table
  EXPECT_NE(
      RefusalOf(assembler, pipe.Deliver(testing::CraftWeightChunk(huge))).find("inconsistent"),
      std::string::npos);
}

TEST(WeightsCodecTest, AManifestNamingOtherParametersIsRefused) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler(RunARules());
  auto blob = MakeBlob(1, 5000);
  blob->manifest[1].name = "unknown";
  EXPECT_NE(RefusalOf(assembler, pipe.Deliver(EncodeWeightChunks(blob, 1 << 20)[0]))
                .find("tensor 1 is 'unknown'"),
            std::string::npos);
  blob = MakeBlob(2, 5000);
  blob->manifest = {{"w", DType::kFloat32, {4000}}, {"b", DType::kFloat32, {1000}}};
  EXPECT_NE(RefusalOf(assembler, pipe.Deliver(EncodeWeightChunks(blob, 1 << 20)[0]))
                .find("tensor 0 is 'w' float32[4000]"),
            std::string::npos);
}

TEST(WeightsCodecTest, ABitFlippedChunkFailsItsChecksum) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler(RunARules());
  auto chunks = EncodeWeightChunks(MakeBlob(1, 5000), 4096);
  std::vector<std::string> frames = testing::CopyFrames(chunks[1]);
  frames.back()[frames.back().size() / 2] ^= 0x10;
  EXPECT_NE(RefusalOf(assembler, pipe.DeliverRaw(frames)).find("checksum"), std::string::npos);
  // The honest chunks still make the whole snapshot.
  std::shared_ptr<const SnapshotBlob> done;
  for (const auto& c : chunks) done = assembler.Add(pipe.Deliver(c));
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->bytes, MakeBlob(1, 5000)->bytes);
}

TEST(WeightsCodecTest, ChunksOfAnotherRunAreRefused) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  SnapshotAssembler assembler({"run-b", {}});
  EXPECT_NE(RefusalOf(assembler, pipe.Deliver(EncodeWeightChunks(MakeBlob(1, 5000), 1 << 20)[0]))
                .find("of run 'run-a', this actor is in run 'run-b'"),
            std::string::npos);
}

TEST(WeightsCodecTest, ASnapshotHoldingNaNOrInfinityIsNamed) {
  auto blob = MakeBlob(4, 5000);
  EXPECT_NO_THROW(CheckSnapshotFinite(*blob));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(blob->bytes.data() + 4 * 4998, &nan, 4);  // element 1 of 'b'
  try {
    CheckSnapshotFinite(*blob);
    FAIL() << "NaN weights passed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 'b' element 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlrec::common
