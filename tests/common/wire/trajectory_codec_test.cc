#include "common/wire/trajectory_codec.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/wire/capnp_frames.h"
#include "common/wire/trajectory.capnp.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

using testing::LoopbackPipe;
using testing::MakeTestTrajectory;

bool SameBytes(const TensorView& a, const TensorView& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes &&
         std::memcmp(a.data, b.data, a.bytes) == 0;
}

bool Inside(const void* p, size_t bytes, const Multipart& frames) {
  auto* begin = static_cast<const char*>(p);
  for (size_t i = 0; i < frames.size(); ++i) {
    auto* frame = static_cast<const char*>(frames.data(i));
    if (begin >= frame && begin + bytes <= frame + frames.bytes(i)) return true;
  }
  return false;
}

TEST(TrajectoryCodecTest, RoundTripsEveryFieldThroughRealZeroMqFrames) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  Trajectory sent = MakeTestTrajectory(/*T=*/5, /*E=*/3, /*C=*/4, /*F=*/6, /*K=*/2);
  auto frames = pipe.Deliver(EncodeTrajectory(sent));
  ASSERT_NE(frames, nullptr);
  Trajectory got = DecodeTrajectory(frames);
  EXPECT_EQ(got.actor_id, 7u);
  EXPECT_EQ(got.policy_version, 3u);
  EXPECT_EQ(got.unroll_length, 5u);
  EXPECT_EQ(got.num_users, 3u);
  EXPECT_TRUE(SameBytes(got.steps.features, sent.steps.features));
  EXPECT_TRUE(SameBytes(got.slates, sent.slates));
  EXPECT_TRUE(SameBytes(got.behaviour_log_probs, sent.behaviour_log_probs));
  EXPECT_TRUE(SameBytes(got.rewards, sent.rewards));
  EXPECT_TRUE(SameBytes(got.dones, sent.dones));
  EXPECT_TRUE(SameBytes(got.bootstrap.features, sent.bootstrap.features));
  EXPECT_EQ(got.episode_returns, sent.episode_returns);
  for (auto [a, b] :
       {std::pair{&got.steps, &sent.steps}, std::pair{&got.bootstrap, &sent.bootstrap}}) {
    EXPECT_TRUE(SameBytes(a->candidate_items, b->candidate_items));
    EXPECT_TRUE(SameBytes(a->history_items, b->history_items));
    EXPECT_TRUE(SameBytes(a->history_topics, b->history_topics));
    EXPECT_TRUE(SameBytes(a->history_responses, b->history_responses));
  }
}

TEST(TrajectoryCodecTest, DecodedTensorsLieInsideTheReceivedFrames) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  // 20 x 32 x 11 x 22 floats: 620 KiB of observations, a frame of their own.
  Trajectory sent = MakeTestTrajectory(20, 32, 10, 22, 2);
  std::shared_ptr<const Multipart> frames = pipe.Deliver(EncodeTrajectory(sent));
  ASSERT_NE(frames, nullptr);
  EXPECT_GT(frames->size(), 1u) << "the large payload should travel as a segment of its own";
  Trajectory got = DecodeTrajectory(frames);
  for (const TensorView* v :
       {&got.steps.features, &got.slates, &got.behaviour_log_probs, &got.rewards, &got.dones,
        &got.bootstrap.features, &got.steps.candidate_items, &got.steps.history_items,
        &got.steps.history_topics, &got.steps.history_responses, &got.bootstrap.candidate_items,
        &got.bootstrap.history_items, &got.bootstrap.history_topics,
        &got.bootstrap.history_responses}) {
    EXPECT_TRUE(Inside(v->data, v->bytes, *frames)) << v->Describe() << " was copied";
  }
  EXPECT_TRUE(SameBytes(got.steps.features, sent.steps.features));
}

TEST(TrajectoryCodecTest, EncodingReferencesLargeTensorsInsteadOfCopyingThem) {
  Trajectory sent = MakeTestTrajectory(20, 32, 10, 22, 2);
  OutgoingMessage message = EncodeTrajectory(sent);
  bool referenced = false;
  for (const auto& frame : message.frames) referenced |= frame.data == sent.steps.features.data;
  EXPECT_TRUE(referenced);
}

TEST(TrajectoryCodecTest, DecodedTrajectoryOutlivesTheMessageItCameFrom) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  Trajectory got;
  {
    auto frames = pipe.Deliver(EncodeTrajectory(MakeTestTrajectory(4, 2, 3, 5, 1)));
    got = DecodeTrajectory(frames);
  }
  Trajectory expected = MakeTestTrajectory(4, 2, 3, 5, 1);
  EXPECT_TRUE(SameBytes(got.steps.features, expected.steps.features));
}

void ExpectRejected(const std::shared_ptr<const Multipart>& frames, const std::string& words) {
  ASSERT_NE(frames, nullptr);
  try {
    DecodeTrajectory(frames);
    FAIL() << "decoded a bad message; expected an error mentioning '" << words << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(TrajectoryCodecTest, GarbageFramesAreRejectedWithAReason) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  ExpectRejected(pipe.DeliverRaw({"hello"}), "not a whole number of 8-byte");
  ExpectRejected(pipe.DeliverRaw({std::string(64, '\xff')}), "malformed");
  ExpectRejected(pipe.DeliverRaw({std::string(64, '\0')}), "protocol version 0");
}

TEST(TrajectoryCodecTest, TruncatedMessageIsRejected) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  OutgoingMessage message = EncodeTrajectory(MakeTestTrajectory(20, 32, 10, 22, 2));
  std::vector<std::string> frames;
  for (const auto& f : message.frames)
    frames.emplace_back(static_cast<const char*>(f.data), f.bytes);
  // Cut the last segment short by a word: pointers into it now run past its end.
  frames.back().resize(frames.back().size() - 8);
  ExpectRejected(pipe.DeliverRaw(frames), "malformed");
  // Drop the payload segments altogether.
  ExpectRejected(pipe.DeliverRaw({frames.front()}), "malformed");
}

TEST(TrajectoryCodecTest, InconsistentShapesAndSlatesAreRejected) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  Trajectory t = MakeTestTrajectory(5, 3, 4, 6, 2);
  t.rewards.shape = {5, 2};
  t.rewards.bytes = 5 * 2 * 4;
  ExpectRejected(pipe.Deliver(EncodeTrajectory(t)), "'rewards' is float32[5, 2]");

  Trajectory bad_slate = MakeTestTrajectory(5, 3, 4, 6, 2);
  const_cast<int32_t*>(static_cast<const int32_t*>(bad_slate.slates.data))[3] = 4;
  ExpectRejected(pipe.Deliver(EncodeTrajectory(bad_slate)), "outside the 4 candidates");
}

TEST(TrajectoryCodecTest, ContextOfTheWrongShapeIsRejected) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  Trajectory t = MakeTestTrajectory(5, 3, 4, 6, 2);
  t.steps.candidate_items.shape = {5, 3, 3};
  t.steps.candidate_items.bytes = 5 * 3 * 3 * 8;
  ExpectRejected(pipe.Deliver(EncodeTrajectory(t)), "'context.candidate_items' is int64[5, 3, 3]");
  Trajectory h = MakeTestTrajectory(5, 3, 4, 6, 2);
  h.bootstrap.history_topics.dtype = DType::kFloat32;
  ExpectRejected(pipe.Deliver(EncodeTrajectory(h)), "bootstrap_context.history_topics");
}

TEST(TrajectoryCodecTest, PayloadSizeThatContradictsTheShapeIsRejected) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  Trajectory t = MakeTestTrajectory(5, 3, 4, 6, 2);
  t.dones.bytes -= 1;
  ExpectRejected(pipe.Deliver(EncodeTrajectory(t)), "'dones': uint8[5, 3] needs 15 bytes");
}

TEST(TrajectoryCodecTest, OtherProtocolVersionIsRejected) {
  ZmqContext context;
  LoopbackPipe pipe(context);
  auto message = std::make_shared<CapnpOutgoing>();
  message->builder().initRoot<wire::Trajectory>().setProtocolVersion(kProtocolVersion + 1);
  ExpectRejected(pipe.Deliver(ToFrames(message)),
                 "protocol version " + std::to_string(kProtocolVersion + 1));
}

}  // namespace
}  // namespace rlrec::common
