// An actor's snapshot cache, its receiving thread against a real PUB socket: readers always
// get a whole snapshot, the newest, while the thread swaps them; the end of the run is heard.
#include "actors/snapshot_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "learner/weight_publisher.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

std::shared_ptr<common::SnapshotBlob> Blob(uint64_t version, size_t floats) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run";
  blob->version = version;
  common::ParamSpec spec;
  spec.name = "w";
  spec.shape = {static_cast<int64_t>(floats)};
  blob->manifest.push_back(spec);
  blob->bytes.assign(floats * 4, static_cast<uint8_t>(version));
  return blob;
}

TEST(SnapshotCacheTest, ReadersSeeWholeNewerSnapshotsWhileTheThreadSwapsThem) {
  common::ZmqContext context;
  learner::WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                                     /*republish_s=*/0.05);
  SnapshotCache cache(context, publisher.endpoint());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, backwards{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      uint64_t last = 0;
      while (!done) {
        auto s = cache.Latest();
        if (!s) continue;
        for (uint8_t b : s->bytes) torn += b != static_cast<uint8_t>(s->version);
        backwards += s->version < last;
        last = s->version;
      }
    });
  }
  const auto deadline = common::After(30);
  for (uint64_t v = 1; v <= 20 && common::Clock::now() < deadline; ++v) {
    publisher.Publish(Blob(v, 10000));  // 40 KB: ten chunks
    while ((!cache.Latest() || cache.Latest()->version < v) && common::Clock::now() < deadline) {
      publisher.RepublishIfDue();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  ASSERT_NE(cache.Latest(), nullptr);
  EXPECT_EQ(cache.Latest()->version, 20u);
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(backwards, 0);
  EXPECT_GE(cache.snapshots_received(), 20u);
  EXPECT_FALSE(cache.run_ended());
  for (int i = 0; i < 20 && !cache.run_ended(); ++i) {
    publisher.PublishRunEnded("run", "test over");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(cache.run_ended());
}

}  // namespace
}  // namespace rlrec::actors
