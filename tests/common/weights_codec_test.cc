#include "common/weights_codec.h"

#include <gtest/gtest.h>

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
  SnapshotAssembler assembler(/*max_bytes=*/1000);
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
  EXPECT_EQ(DecodeRunEnded(frames), "time budget");
}

}  // namespace
}  // namespace rlrec::common
