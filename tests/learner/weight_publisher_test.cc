// The lead's weights socket (XPUB): what it keeps of the snapshots it published, and what
// it sends a subscriber that reads slowly.
#include "learner/weight_publisher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/table_snapshots.h"

namespace rlrec::learner {
namespace {

using testing::FlatBlob;
using testing::TableDelta;
using testing::TableState;
using testing::WaitFor;
using testing::WaitForSubscription;

// The lead writes each full snapshot into the memory of the one before once nothing (no
// message queued for a subscriber, no caller) reads that one any more: it holds one full
// snapshot besides its weights. One that was still read when replaced comes back later.
TEST(WeightPublisherTest, AFullSnapshotsMemoryIsTakenForTheNextOnceNothingReadsIt) {
  common::ZmqContext context;
  WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                            /*republish_s=*/3600);
  auto first = TableState(1);
  publisher.Publish(first);
  publisher.Publish(TableDelta(2));
  EXPECT_EQ(publisher.TakeSnapshotMemory(), nullptr) << "the caller still holds version 1";
  EXPECT_EQ(publisher.latest_version(), 2u) << "the base and its delta are still published";
  first.reset();
  // No subscriber: no message holds version 1 either.
  auto memory = publisher.TakeSnapshotMemory();
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->version, 1u);
  EXPECT_EQ(publisher.TakeSnapshotMemory(), nullptr) << "handed over once";

  auto second = TableState(3), third = TableState(4);
  publisher.Publish(second);
  publisher.Publish(third);  // replaces version 3, which the caller still reads
  EXPECT_EQ(publisher.TakeSnapshotMemory(), nullptr) << "the caller holds both";
  second.reset();
  auto retired = publisher.TakeSnapshotMemory();
  ASSERT_NE(retired, nullptr);
  EXPECT_EQ(retired->version, 3u);
  EXPECT_EQ(publisher.latest_version(), 4u) << "version 4, still read, stays published";
}

// While a queue still reads the last full snapshot, the lead publishes deltas instead of a
// third copy of the model, but only until they weigh half of that snapshot.
TEST(WeightPublisherTest, AFullSnapshotIsPostponedWhileTheLastIsReadUntilDeltasWeighHalfOfIt) {
  common::ZmqContext context;
  WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                            /*republish_s=*/3600);
  auto base = TableState(1);  // 1,616 bytes; each delta 40
  publisher.Publish(base);
  EXPECT_FALSE(publisher.wants_full());
  ASSERT_EQ(publisher.TakeSnapshotMemory(), nullptr) << "the caller reads version 1";
  EXPECT_TRUE(publisher.PostponeFull());
  EXPECT_TRUE(publisher.wants_full()) << "a postponed full snapshot is still due";
  for (uint64_t version = 2; version <= 21; ++version) publisher.Publish(TableDelta(version));
  EXPECT_TRUE(publisher.PostponeFull()) << "800 bytes of deltas: at most half the base";
  publisher.Publish(TableDelta(22));
  EXPECT_FALSE(publisher.PostponeFull()) << "840 bytes of deltas: more than half the base";
  publisher.Publish(TableState(23));
  EXPECT_FALSE(publisher.wants_full());
}

// A subscriber that connects after the lead bound its socket, and reads more slowly than the
// lead sends, still gets every chunk of a snapshot far larger than ZeroMQ's default queues:
// the lead sized each connection's queue for it before binding.
TEST(WeightPublisherTest, ASlowSubscriberGetsEveryChunkOfASnapshotOfManyThousandChunks) {
  common::ZmqContext context;
  constexpr size_t kChunks = 12000;  // 48 MB in 4 KB chunks: beyond 4,096 queued plus TCP's
  auto blob = FlatBlob(1, kChunks * 1024);
  WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                            /*republish_s=*/3600, {}, blob->bytes.size());
  publisher.Publish(blob);  // before anyone listens: lost
  // The answer to the join may go out while the subscription is awaited: count from here.
  const uint64_t sent_before = publisher.chunks_sent();
  common::ZmqSocket subscriber(context, ZMQ_SUB, "test SUB");
  subscriber.SetInt(ZMQ_RCVHWM, 16);
  subscriber.SetBytes(ZMQ_SUBSCRIBE, common::kWeightsTopic);
  subscriber.Connect(publisher.endpoint());
  ASSERT_TRUE(WaitForSubscription(publisher));
  // The answer to the join is queued at once; the subscriber reads nothing for a while.
  ASSERT_TRUE(WaitFor([&] {
    publisher.RepublishIfDue();
    return publisher.chunks_sent() >= sent_before + kChunks;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  size_t received = 0;
  while (subscriber.Receive(common::After(2))) ++received;
  EXPECT_EQ(received, kChunks) << "chunks were dropped on the way";
}

}  // namespace
}  // namespace rlrec::learner
