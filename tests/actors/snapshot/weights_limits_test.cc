// An actor's weights socket (SUB) against a publisher that sends each hostile message shape:
// more frames than a chunk has, frames each within the limit but together hundreds of
// megabytes, one frame over the limit. Each is dropped, the memory ZeroMQ held for it comes
// back, and the next honest snapshot is taken.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "actors/snapshot/snapshot_cache.h"
#include "common/base/malloc_tuning.h"
#include "common/wire/protocol.h"
#include "common/wire/weights_codec.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

std::shared_ptr<common::SnapshotBlob> Blob(uint64_t version) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  blob->manifest = {{"w", common::DType::kFloat32, {1000}}};
  blob->bytes.assign(4000, static_cast<uint8_t>(version));
  return blob;
}

// A weights message of the weights topic and then `frames` frames of `bytes` bytes, all
// pointing at one buffer (sent without copies, so this process holds one frame's worth).
common::OutgoingMessage Shape(size_t frames, size_t bytes) {
  auto buffer = std::make_shared<std::string>(bytes, '\x11');
  common::OutgoingMessage message;
  message.frames.push_back({common::kWeightsTopic, std::strlen(common::kWeightsTopic)});
  for (size_t i = 0; i < frames; ++i) message.frames.push_back({buffer->data(), buffer->size()});
  message.owner = buffer;
  return message;
}

bool PublishUntilHeld(const SnapshotCache& cache, common::ZmqSocket& pub, uint64_t version) {
  const auto deadline = common::After(20);
  while (common::Clock::now() < deadline) {
    if (cache.Latest() && cache.Latest()->version >= version) return true;
    for (const auto& chunk : common::EncodeWeightChunks(Blob(version), 4096)) {
      pub.Send(chunk, common::After(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(WeightsSocketLimitsTest, EachHostileShapeIsDroppedItsMemoryComesBackAndTheNextIsTaken) {
  common::KeepFreedMemory(common::KeepFreed::kSmall);  // as an actor keeps its memory
  common::ZmqContext context;
  common::ZmqSocket pub(context, ZMQ_PUB, "hostile PUB");
  const std::string endpoint = pub.Bind("tcp://127.0.0.1:*");
  const size_t max_bytes = common::MaxWeightMessageBytes(4096);
  SnapshotCache cache(context, endpoint, {"run", Blob(0)->manifest}, max_bytes);
  ASSERT_TRUE(PublishUntilHeld(cache, pub, 1));
  const uint64_t before = testing::MemoryOf(getpid()).rss;

  // Too many frames; then 200 MiB of frames each within the limit; then one frame over it,
  // which makes ZeroMQ drop the connection (the cache subscribes afresh).
  ASSERT_TRUE(pub.Send(Shape(common::kMaxWeightFrames, 16), common::After(5)));
  // (32 MiB under a sanitizer, which makes memory costlier to touch.)
  const size_t flood = (testing::kSanitized ? size_t{32} : size_t{200}) << 20;
  ASSERT_TRUE(pub.Send(Shape(flood / (max_bytes / 2), max_bytes / 2), common::After(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const uint64_t after = testing::MemoryOf(getpid()).rss;
  ASSERT_TRUE(pub.Send(Shape(1, max_bytes + 1), common::After(5)));
  std::printf("actor-side memory: %.1f MiB before the %zu MiB flood, %.1f MiB 1.5 s after\n",
              before / 1048576.0, flood >> 20, after / 1048576.0);

  ASSERT_TRUE(PublishUntilHeld(cache, pub, 2));
  EXPECT_EQ(cache.Latest()->version, 2u);
  EXPECT_GE(cache.malformed(), 2u);
  if (!testing::kSanitized) {  // a sanitizer's allocator keeps freed memory in quarantine
    EXPECT_LT(after, before + (uint64_t{64} << 20))
        << "the flood's memory stayed: " << before << " -> " << after << " bytes";
  }
}

}  // namespace
}  // namespace rlrec::actors
