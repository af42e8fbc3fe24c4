// An actor's snapshot cache, its receiving thread against a real PUB socket: readers always
// get a whole snapshot, the newest, while the thread swaps them; the end of the run is heard.
#include "actors/snapshot/snapshot_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "actors/snapshot/host_segment.h"
#include "common/wire/snapshot_delta.h"
#include "learner/weight_publisher.h"
#include "tests/table_snapshots.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

using testing::FlatBlob;
using testing::TableDelta;
using testing::TableState;
using testing::WaitFor;

TEST(SnapshotCacheTest, ReadersSeeWholeNewerSnapshotsWhileTheThreadSwapsThem) {
  common::ZmqContext context;
  learner::WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                                     /*republish_s=*/0.05);
  SnapshotCache cache(context, publisher.endpoint(), {"run", FlatBlob(0, 10000)->manifest});
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
    publisher.Publish(FlatBlob(v, 10000));  // 40 KB: ten chunks
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

// A publisher that sends whatever it is given on a PUB socket of its own.
struct RawPublisher {
  explicit RawPublisher(const common::ZmqContext& context)
      : socket(context, ZMQ_PUB, "hostile PUB"), endpoint(socket.Bind("tcp://127.0.0.1:*")) {}
  void Send(const common::OutgoingMessage& message) { socket.Send(message, common::After(5)); }
  void Publish(std::shared_ptr<const common::SnapshotBlob> blob) {
    for (const auto& chunk : common::EncodeWeightChunks(std::move(blob), 4096)) Send(chunk);
  }
  common::ZmqSocket socket;
  std::string endpoint;
};

// Publishes `blob` until `cache` holds its version (PUB/SUB drops what is sent before a
// subscription arrives).
bool PublishUntilHeld(const SnapshotCache& cache, RawPublisher& publisher,
                      std::shared_ptr<common::SnapshotBlob> blob) {
  const auto deadline = common::After(20);
  while (common::Clock::now() < deadline) {
    if (cache.Latest() && cache.Latest()->version >= blob->version) return true;
    publisher.Publish(blob);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(SnapshotCacheTest, ASubscriberThatJoinsLateGetsTheSnapshotWithoutWaitingForARepublish) {
  common::ZmqContext context;
  learner::WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                                     /*republish_s=*/3600);
  publisher.Publish(FlatBlob(3, 10000));  // before anyone listens: lost
  SnapshotCache cache(context, publisher.endpoint(), {"run", FlatBlob(0, 10000)->manifest});
  const auto start = common::Clock::now();
  while (!cache.Latest() && common::SecondsSince(start) < 10) {
    publisher.RepublishIfDue();  // sees the subscription
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_NE(cache.Latest(), nullptr) << "the joining subscriber was not sent the snapshot";
  EXPECT_EQ(cache.Latest()->version, 3u);
  EXPECT_LT(common::SecondsSince(start), 5);
  EXPECT_GE(publisher.subscriptions(), 1u);
}

TEST(SnapshotCacheTest, AHostilePublisherNeitherStopsTheActorNorReplacesItsSnapshot) {
  common::ZmqContext context;
  RawPublisher publisher(context);
  // The actor's model: one parameter "w" of 1000 floats, in run "run".
  SnapshotCache cache(context, publisher.endpoint, {"run", FlatBlob(0, 1000)->manifest},
                      common::MaxWeightMessageBytes(4096));
  ASSERT_TRUE(PublishUntilHeld(cache, publisher, FlatBlob(1, 1000)));

  // A header announcing 4 GiB, in an 800-byte message.
  testing::CraftedChunk huge;
  huge.version = 2;
  huge.total_bytes = uint64_t{4} << 30;
  huge.manifest = {{"w", common::DType::kFloat32, {1 << 30}}};
  publisher.Send(testing::CraftWeightChunk(huge));
  // A parameter this model does not have.
  auto unknown = FlatBlob(3, 1000);
  unknown->manifest[0].name = "stranger";
  publisher.Publish(unknown);
  // NaN weights.
  auto poisoned = FlatBlob(4, 1000);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(poisoned->bytes.data() + 40, &nan, 4);
  publisher.Publish(poisoned);
  // Another run's snapshot, and another run's end.
  auto foreign = FlatBlob(5, 1000);
  foreign->run_id = "other-run";
  publisher.Publish(foreign);
  publisher.Send(common::EncodeRunEnded("other-run", "not yours"));
  // A message larger than a chunk can be.
  testing::CraftedChunk oversized;
  oversized.version = 6;
  oversized.data.assign(1 << 20, 'x');
  publisher.Send(testing::CraftWeightChunk(oversized));

  ASSERT_TRUE(PublishUntilHeld(cache, publisher, FlatBlob(7, 1000)));
  EXPECT_EQ(cache.Latest()->version, 7u);
  EXPECT_FALSE(cache.run_ended());
  EXPECT_GE(cache.malformed(), 5u);          // 4 GiB, stranger, foreign, other run's end, oversized
  EXPECT_EQ(cache.refused_snapshots(), 1u);  // the NaN one, refused once complete
  // ZeroMQ cut the publisher off at the oversized frame; the cache subscribed afresh.
  EXPECT_GE(cache.resubscriptions(), 1u);
  for (int i = 0; i < 100 && !cache.run_ended(); ++i) {
    publisher.Send(common::EncodeRunEnded("run", "over"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(cache.run_ended());
}

// A learner's weights socket played by hand: an XPUB that sends what it is told and counts the
// subscriptions to weights it sees (a join, or a request to re-sync).
struct HandPlayedLearner {
  explicit HandPlayedLearner(const common::ZmqContext& context)
      : socket(context, ZMQ_XPUB, "test XPUB") {
    socket.SetInt(ZMQ_XPUB_VERBOSE, 1);
    endpoint = socket.Bind("tcp://127.0.0.1:*");
  }
  void Publish(std::shared_ptr<const common::SnapshotBlob> blob) {
    for (const auto& chunk : Chunks(std::move(blob))) socket.Send(chunk, common::After(5));
  }
  std::vector<common::OutgoingMessage> Chunks(std::shared_ptr<const common::SnapshotBlob> blob) {
    return common::EncodeWeightChunks(std::move(blob), chunk_bytes, publisher);
  }
  int WeightSubscriptions() {
    while (auto message = socket.Receive(common::After(0))) {
      const auto frame = message->view(0);
      weight_subscriptions += frame.size() == 2 && frame[0] == 1 && frame[1] == 'w';
    }
    return weight_subscriptions;
  }
  common::ZmqSocket socket;
  std::string endpoint;
  int weight_subscriptions = 0;
  uint64_t publisher = 1;  // the learner process
  size_t chunk_bytes = 4096;
};

uint64_t HeldVersion(const SnapshotCache& cache) {
  const auto held = cache.Latest();
  return held ? held->version : 0;
}

// Waits for `cache` to hold `version`, and checks that it holds TableState(version) exactly.
void ExpectHoldsTableState(const SnapshotCache& cache, uint64_t version) {
  ASSERT_TRUE(WaitFor([&] { return HeldVersion(cache) == version; })) << "version " << version;
  EXPECT_EQ(cache.Latest()->bytes, TableState(version)->bytes);
}

// Publishes `state` until `cache`, once subscribed, holds it (PUB/SUB drops what is sent
// before a subscription arrives).
bool PublishUntilHeld(HandPlayedLearner& learner, const SnapshotCache& cache,
                      std::shared_ptr<const common::SnapshotBlob> state) {
  return WaitFor([&] { return learner.WeightSubscriptions() >= 1; }) && WaitFor([&] {
           learner.Publish(state);
           return HeldVersion(cache) == state->version;
         });
}

TEST(SnapshotCacheTest, AMissedDeltaIsRefusedAndTheCacheReSyncsFromAFullSnapshot) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  SnapshotCache cache(context, learner.endpoint, {"run", TableState(1)->manifest},
                      common::MaxWeightMessageBytes(4096));
  ASSERT_TRUE(PublishUntilHeld(learner, cache, TableState(1)));
  learner.Publish(TableDelta(2));
  ExpectHoldsTableState(cache, 2);
  EXPECT_EQ(cache.deltas_applied(), 1u);

  // Delta 3 is lost; delta 4 is on a version the cache does not hold: refused, and the cache
  // asks for a re-sync by subscribing again.
  const int subscriptions = learner.WeightSubscriptions();
  learner.Publish(TableDelta(4));
  ASSERT_TRUE(WaitFor([&] { return cache.refused_deltas() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() > subscriptions; }))
      << "the cache did not ask for a re-sync";
  EXPECT_EQ(cache.resyncs(), 1u);
  EXPECT_EQ(HeldVersion(cache), 2u) << "a delta on a missed version must not be applied";

  // The learner answers as WeightPublisher does: its latest full snapshot, the deltas since.
  learner.Publish(TableState(3));
  learner.Publish(TableDelta(4));
  ExpectHoldsTableState(cache, 4);

  // A delta naming a row the table does not have: refused, the snapshot stays, re-sync asked.
  auto hostile = TableDelta(5);
  const int64_t row = 1000;
  std::memcpy(hostile->bytes.data() + 16, &row, 8);
  learner.Publish(hostile);
  ASSERT_TRUE(WaitFor([&] { return cache.refused_deltas() == 2; }));
  EXPECT_EQ(HeldVersion(cache), 4u);
  EXPECT_EQ(cache.Latest()->bytes, TableState(4)->bytes);
  ASSERT_TRUE(WaitFor([&] { return cache.resyncs() == 2; }));
  learner.Publish(TableDelta(5));
  ExpectHoldsTableState(cache, 5);
  EXPECT_EQ(cache.deltas_applied(), 3u);
}

// Reads as actors read (between TryBegin and End, while no write is under way): whether the copy
// read holds TableState(version) exactly, and matches its seal.
bool Holds(HostSegment::Reader& reader, const HostSegment& segment, uint64_t version) {
  if (!reader.TryBegin()) return false;
  const uint32_t copy = reader.copy();
  std::string why;
  const bool same =
      segment.version(copy) == version &&
      std::memcmp(segment.data(copy), TableState(version)->bytes.data(), segment.bytes()) == 0 &&
      reader.Check(&why);
  reader.End();
  return same;
}

// A host's receiver: a segment of `copies` copies in a fresh folder, and a cache writing in it.
struct SegmentReceiver {
  SegmentReceiver(const common::ZmqContext& context, const HandPlayedLearner& learner,
                  uint32_t copies)
      : segment(HostSegment::Open(shm.path(), "segment", "run", TableState(1)->manifest, copies)),
        taken(segment->TryBecomeReceiver()),
        reader(segment),
        cache(context, learner.endpoint, {"run", TableState(1)->manifest},
              common::MaxWeightMessageBytes(learner.chunk_bytes), {}, segment) {}
  bool Holds(uint64_t version) { return actors::Holds(reader, *segment, version); }

  testing::TempDir shm;
  std::shared_ptr<HostSegment> segment;
  bool taken;
  HostSegment::Reader reader;
  SnapshotCache cache;
};

// With one copy, a full snapshot is assembled in the segment itself: from its first chunk to
// its last nothing is readable there (readers wait), and one that never completes leaves the
// segment holding nothing until a full snapshot does (the cost of actor.snapshot_copies = 1).
TEST(SnapshotCacheTest, WithOneCopyAFullSnapshotIsAssembledInTheHostSegmentWhileReadersWait) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  learner.chunk_bytes = 512;  // 1,616 bytes: 4 chunks
  SegmentReceiver host(context, learner, 1);
  ASSERT_TRUE(host.taken);
  auto& segment = host.segment;
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    learner.Publish(TableState(1));
    return host.Holds(1);
  }));
  EXPECT_EQ(host.cache.Latest(), nullptr)
      << "with a segment the process keeps no snapshot of its own";

  auto chunks = learner.Chunks(TableState(3));
  ASSERT_EQ(chunks.size(), 4u);
  for (size_t i = 0; i < 3; ++i) learner.socket.Send(chunks[i], common::After(5));
  ASSERT_TRUE(WaitFor([&] { return !segment->readable(); }))
      << "the first chunk did not begin a write in the segment";
  EXPECT_FALSE(host.reader.TryBegin()) << "a reader got in while the snapshot was being assembled";
  learner.socket.Send(chunks[3], common::After(5));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(3); }));

  // Version 5 loses its last chunk and version 6 begins: what was written of 5 is dropped,
  // and nothing is readable until 6 is whole.
  chunks = learner.Chunks(TableState(5));
  for (size_t i = 0; i < 3; ++i) learner.socket.Send(chunks[i], common::After(5));
  ASSERT_TRUE(WaitFor([&] { return !segment->readable(); }));
  chunks = learner.Chunks(TableState(6));
  learner.socket.Send(chunks[0], common::After(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(segment->readable()) << "a half-written snapshot became readable";
  for (size_t i = 1; i < 4; ++i) learner.socket.Send(chunks[i], common::After(5));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(6); }));
  // Deltas go on from there, in place.
  learner.Publish(TableDelta(7));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(7); }));
  EXPECT_EQ(host.cache.refused_deltas(), 0u);
}

// With two copies (the default), a full snapshot is assembled into the copy nobody reads and
// made active only when whole and checked: one refused after it arrived (non-finite values, a
// wrong tensor name or shape with valid checksums) or one that never completes leaves the
// readers acting on the previous version, and a refused one asks for a re-sync. This used to
// wipe the readable state, and every actor of the host exited a minute later.
TEST(SnapshotCacheTest, WithTwoCopiesARefusedOrUnfinishedFullSnapshotLeavesReadersOnTheLastGood) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  learner.chunk_bytes = 512;
  SegmentReceiver host(context, learner, 2);
  ASSERT_TRUE(host.taken);
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    learner.Publish(TableState(1));
    return host.Holds(1);
  }));
  // Readers go on with version 1 from the first chunk of version 3 to its last.
  auto chunks = learner.Chunks(TableState(3));
  for (size_t i = 0; i < 3; ++i) learner.socket.Send(chunks[i], common::After(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(host.Holds(1)) << "readers waited for a full snapshot being assembled";
  learner.socket.Send(chunks[3], common::After(5));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(3); }));

  // Non-finite values, complete and with valid checksums: refused, a re-sync asked.
  auto poisoned = TableState(5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(poisoned->bytes.data() + 4 * 9, &nan, 4);
  const int subscriptions = learner.WeightSubscriptions();
  learner.Publish(poisoned);
  ASSERT_TRUE(WaitFor([&] { return host.cache.refused_snapshots() == 1; }));
  EXPECT_TRUE(host.Holds(3));
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() > subscriptions; }))
      << "no re-sync after a refused snapshot";
  EXPECT_GE(host.cache.resyncs(), 1u);

  // A tensor of another name, and of another shape: refused at their first chunk.
  auto stranger = TableState(6);
  stranger->manifest[1].name = "stranger";
  learner.Publish(stranger);
  auto reshaped = TableState(7);
  reshaped->manifest[1].shape = {50, 8};
  learner.Publish(reshaped);
  ASSERT_TRUE(WaitFor([&] { return host.cache.malformed() >= 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(host.Holds(3));

  // Version 8 loses its last chunk: readers stay on 3 until version 9 is whole.
  chunks = learner.Chunks(TableState(8));
  for (size_t i = 0; i < 3; ++i) learner.socket.Send(chunks[i], common::After(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(host.Holds(3));
  learner.Publish(TableState(9));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(9); }));
  // Deltas go on from there, in place.
  learner.Publish(TableDelta(10));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(10); }));
  EXPECT_EQ(host.cache.refused_deltas(), 0u);
}

// A delta is applied in place; when the rebuilt state misses the learner's checksum, the copy
// holds neither version, and the other copy, an older whole version, becomes the one actors
// act on until the re-sync brings a full snapshot.
TEST(SnapshotCacheTest, ADeltaThatMissesTheLearnersChecksumFallsBackToTheOtherCopysVersion) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  SegmentReceiver host(context, learner, 2);
  ASSERT_TRUE(host.taken);
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    learner.Publish(TableState(1));
    return host.Holds(1);
  }));
  learner.Publish(TableState(3));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(3); }));
  auto wrong = TableDelta(4);
  wrong->state_checksum = 12345;
  learner.Publish(wrong);
  ASSERT_TRUE(WaitFor([&] { return host.cache.refused_deltas() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(1); })) << "not back on the other copy";
  ASSERT_TRUE(WaitFor([&] { return host.cache.resyncs() >= 1; }));
  learner.Publish(TableState(4));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(4); }));
}

// A reader that finds the state it is to act on changed behind the writer's back asks the
// receiver, which checks the copy whole, drops it, falls back on the other and re-syncs.
TEST(SnapshotCacheTest, ATamperedStateIsDroppedByTheReceiverWhichFallsBackAndReSyncs) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  SegmentReceiver host(context, learner, 2);
  ASSERT_TRUE(host.taken);
  ASSERT_TRUE(WaitFor([&] { return learner.WeightSubscriptions() >= 1; }));
  ASSERT_TRUE(WaitFor([&] {
    learner.Publish(TableState(1));
    return host.Holds(1);
  }));
  learner.Publish(TableState(3));
  ASSERT_TRUE(WaitFor([&] { return host.Holds(3); }));
  const uint32_t tampered = host.segment->active();
  host.segment->mutable_data(tampered)[100] ^= 0x40;
  ASSERT_TRUE(host.reader.TryBegin());
  std::string why;
  EXPECT_FALSE(host.reader.Check(&why));
  host.reader.End();
  host.segment->RequestRebuild();  // as ActorWeights does
  ASSERT_TRUE(WaitFor([&] { return host.Holds(1); }));
  EXPECT_FALSE(host.segment->readable(tampered));
  ASSERT_TRUE(WaitFor([&] { return host.cache.resyncs() >= 1; }));
}

// A learner resumed from a checkpoint publishes lower versions than the one an actor holds,
// under another publisher id: the actor follows it, and never applies the new learner's
// deltas on the old learner's state.
TEST(SnapshotCacheTest, ALearnerResumedWithLowerVersionsIsFollowedFromItsFullSnapshot) {
  common::ZmqContext context;
  HandPlayedLearner learner(context);
  SnapshotCache cache(context, learner.endpoint, {"run", TableState(1)->manifest},
                      common::MaxWeightMessageBytes(4096));
  ASSERT_TRUE(PublishUntilHeld(learner, cache, TableState(5)));
  learner.publisher = 2;           // the learner died and resumed from its checkpoint of version 3
  learner.Publish(TableDelta(6));  // on the new learner's version 5, which this actor lacks
  ASSERT_TRUE(WaitFor([&] { return cache.refused_deltas() == 1; }));
  EXPECT_EQ(cache.Latest()->publisher, 1u);
  learner.Publish(TableState(3));
  ASSERT_TRUE(WaitFor([&] { return cache.Latest()->publisher == 2; }))
      << "a full snapshot of the resumed learner must be taken, whatever its version";
  EXPECT_EQ(HeldVersion(cache), 3u);
  learner.Publish(TableDelta(4));
  ExpectHoldsTableState(cache, 4);
}

TEST(SnapshotCacheTest, AJoiningActorRebuildsTheNewestVersionFromTheBaseAndTheDeltasSince) {
  common::ZmqContext context;
  learner::WeightPublisher publisher(context, "tcp://127.0.0.1:*", /*chunk_bytes=*/4096,
                                     /*republish_s=*/3600);
  for (uint64_t v = 1; v <= 3; ++v) publisher.Publish(v == 1 ? TableState(1) : TableDelta(v));
  EXPECT_EQ(publisher.fulls(), 1u);
  EXPECT_EQ(publisher.deltas(), 2u);
  EXPECT_FALSE(publisher.wants_full());
  SnapshotCache cache(context, publisher.endpoint(), {"run", TableState(1)->manifest});
  ASSERT_TRUE(WaitFor([&] {
    publisher.RepublishIfDue();  // sees the subscription: sends the base and both deltas
    return HeldVersion(cache) == 3;
  }));
  EXPECT_EQ(cache.Latest()->bytes, TableState(3)->bytes);
  EXPECT_EQ(cache.deltas_applied(), 2u);
  EXPECT_EQ(cache.refused_deltas(), 0u);
  // Live deltas follow.
  publisher.Publish(TableDelta(4));
  ExpectHoldsTableState(cache, 4);
}

}  // namespace
}  // namespace rlrec::actors
