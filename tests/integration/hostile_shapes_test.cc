// Every socket of a running learner takes each hostile message shape — more frames than its
// protocol has, frames each within the limit but together far over it, one frame over it —
// and the learner stays alive, answers (control) or drops (trajectories, subscriptions) it,
// gives the memory back, and serves the next honest message.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "common/config/config_keys.h"
#include "common/wire/control.h"
#include "common/wire/protocol.h"
#include "common/wire/trajectory_checks.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

// Sends `frames` frames of `bytes` bytes each as one message.
void SendShape(common::ZmqSocket& socket, size_t frames, size_t bytes) {
  const std::string frame(bytes, '\x5a');
  for (size_t i = 0; i < frames; ++i) {
    ASSERT_TRUE(socket.SendCopy(frame, i + 1 < frames, common::After(10)));
  }
}

struct Shape {
  const char* what;
  size_t frames, bytes;
  bool over_frame_limit;  // ZeroMQ cuts the connection: no answer comes
};

// The shapes for a socket that takes at most `max_frames` frames and `max_bytes` bytes: one
// frame too many; frames each within the limit, together `flood_bytes`; one frame too large.
std::vector<Shape> ShapesFor(size_t max_frames, size_t max_bytes, size_t flood_bytes) {
  const size_t frame = std::min(max_bytes, size_t{1} << 20) / 2 + 1;
  return {{"one frame too many", max_frames + 1, 16, false},
          {"a flood of frames within the limit", flood_bytes / frame, frame, false},
          {"one frame over the limit", 1, max_bytes + 1, true}};
}

TEST(HostileShapesTest, EveryLearnerSocketTakesEachShapeStaysSmallAndServesTheNextMessage) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0);
  common::ZmqContext context;
  common::ControlClient client(context, control, 2, 5);
  const common::LearnerInfo info = client.Hello(/*actor_id=*/99);
  uint64_t updates = 0;
  for (int i = 0; i < 600 && updates < 20; ++i) {
    updates = client.Status().updates;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(updates, 20u) << ReadFile(run + "/learner.log");
  const ProcessMemory before = MemoryOf(learner->pid());
  // 200 MiB in one message (32 under a sanitizer, which makes memory costlier to touch).
  const size_t kFlood = (kSanitized ? size_t{32} : size_t{200}) << 20;

  // Control (REP): the first two shapes are answered with a refusal; the third cuts the
  // connection. An honest request is answered after each.
  for (const Shape& shape :
       ShapesFor(common::kMaxControlFrames, common::kMaxControlMessageBytes, kFlood)) {
    common::ZmqSocket req(context, ZMQ_REQ, "hostile REQ");
    req.SetInt(ZMQ_LINGER, 0);
    req.Connect(control);
    SendShape(req, shape.frames, shape.bytes);
    auto reply = req.Receive(common::After(shape.over_frame_limit ? 1 : 10));
    if (shape.over_frame_limit) {
      EXPECT_EQ(reply, nullptr) << shape.what;
    } else {
      ASSERT_NE(reply, nullptr) << shape.what << ": not answered";
      try {
        common::DecodeWelcome(std::move(reply), "refused: ");
        ADD_FAILURE() << shape.what << " was welcomed";
      } catch (const common::Error& e) {
        EXPECT_NE(std::string(e.what()).find("over the control channel's limits"),
                  std::string::npos)
            << shape.what << ": " << e.what();
      }
    }
    EXPECT_EQ(client.Status().run_id, info.run_id) << "after " << shape.what;
  }

  // Trajectories (PULL): dropped and counted; training goes on.
  common::RunConfig config;  // SmallJobFlags' shape of trajectories
  config.sim.users_per_actor = 8;
  config.actor.unroll = 10;
  const size_t max_trajectory_bytes =
      common::MaxTrajectoryMessageBytes(common::TrajectoryContractOf(config));
  for (const Shape& shape : ShapesFor(common::kMaxTrajectoryFrames, max_trajectory_bytes, kFlood)) {
    common::ZmqSocket push(context, ZMQ_PUSH, "hostile PUSH");
    push.SetInt(ZMQ_LINGER, 2000);
    push.Connect(info.trajectory_endpoints[0]);
    SendShape(push, shape.frames, shape.bytes);
  }

  // Subscriptions (XPUB): an XSUB may send anything upstream; all of it is let go.
  for (const Shape& shape : ShapesFor(1, common::kMaxSendOnlyInboundBytes, kFlood / 4)) {
    common::ZmqSocket xsub(context, ZMQ_XSUB, "hostile XSUB");
    xsub.SetInt(ZMQ_LINGER, 2000);
    xsub.Connect(info.weights_endpoint);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // connected: sends go out
    SendShape(xsub, shape.frames, shape.bytes);
  }

  // Training goes on, the actor still acts, new snapshots still go out.
  const common::LearnerInfo after_shapes = client.Status();
  uint64_t later = after_shapes.updates;
  for (int i = 0; i < 400 && later < after_shapes.updates + 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    later = client.Status().updates;
  }
  EXPECT_GE(later, after_shapes.updates + 20) << ReadFile(run + "/learner.log");
  EXPECT_GT(client.Status().latest_version, after_shapes.latest_version);
  EXPECT_TRUE(learner->running());
  EXPECT_TRUE(actor->running());

  // Memory: ZeroMQ held each flood whole before it reached rlrec (the peak says so); rlrec
  // kept none of it and gave it back (within a second or two; on a loaded machine the learner
  // may take longer to reach the last flood).
  ProcessMemory after = MemoryOf(learner->pid());
  for (int i = 0; i < 100 && after.rss >= before.rss + (uint64_t{64} << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = MemoryOf(learner->pid());
  }
  std::printf("learner memory: %.1f MiB before, peak %.1f MiB, %.1f MiB after\n",
              before.rss / 1048576.0, after.peak / 1048576.0, after.rss / 1048576.0);
  if (!kSanitized) {  // a sanitizer's allocator keeps freed memory in quarantine
    EXPECT_LT(after.rss, before.rss + (uint64_t{64} << 20))
        << "the learner kept the floods' memory: " << before.rss << " -> " << after.rss;
  }

  learner->Signal(SIGINT);
  auto status = learner->WaitFor(60);
  ASSERT_TRUE(status) << ReadFile(run + "/learner.log");
  EXPECT_EQ(*status, 0) << ReadFile(run + "/learner.log");
  EXPECT_TRUE(actor->WaitFor(30));
  const auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "final"), 1) << rows.back();
  // The two trajectory messages within the frame limit were dropped and counted (the third
  // never got past ZeroMQ); the learner's log says what each socket dropped.
  EXPECT_GE(JsonNumber(rows.back(), "decode_errors").value_or(0), 2) << rows.back();
  const std::string log = ReadFile(run + "/learner.log");
  EXPECT_NE(log.find("trajectory PULL: dropped a message of"), std::string::npos);
  EXPECT_NE(log.find("weights XPUB: dropped a message of"), std::string::npos);
  EXPECT_NE(log.find("over the control channel's limits"), std::string::npos);
}

// In a child process running as user `uid`: asks `control` for status, subscribes to `weights`
// and pushes garbage to `trajectories`. Exits 0 when nothing answered and no weights came,
// 1 when the status was answered, 2 when weights came, 3 when it could not become `uid`.
void ActAsStranger(uid_t uid, const std::string& control, const std::string& weights,
                   const std::string& trajectories) {
  if (setgid(uid) != 0 || setuid(uid) != 0) _exit(3);
  int code = 0;
  {
    common::ZmqContext context;
    common::ControlClient client(context, control, /*timeout_s=*/1, /*retries=*/0);
    try {
      client.Status();
      code = 1;
    } catch (const common::Error&) {
    }
    common::ZmqSocket sub(context, ZMQ_SUB, "stranger SUB");
    sub.SetBytes(ZMQ_SUBSCRIBE, "");
    sub.Connect(weights);
    common::ZmqSocket push(context, ZMQ_PUSH, "stranger PUSH");
    push.SetInt(ZMQ_LINGER, 0);
    push.Connect(trajectories);
    push.SendCopy("garbage from another user", false, common::After(0.5));
    if (code == 0 && sub.Receive(common::After(2))) code = 2;
  }
  _exit(code);
}

TEST(LoopbackStrangerTest, AnotherUsersProcessGetsNoAnswerNoWeightsAndSendsNothingIn) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to act as another user";
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0);
  // The stranger's endpoints, as a hello tells them (asked from a child, so that this
  // process has no ZeroMQ threads when it forks the stranger).
  std::string weights, trajectories;
  {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t asker = fork();
    ASSERT_GE(asker, 0);
    if (asker == 0) {
      close(fds[0]);
      common::ZmqContext context;
      common::ControlClient client(context, control, 2, 5);
      const common::LearnerInfo info = client.Hello(98);
      const std::string text = info.weights_endpoint + "\n" + info.trajectory_endpoints[0];
      _exit(write(fds[1], text.data(), text.size()) == ssize_t(text.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string text;
    char buffer[256];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof(buffer))) > 0;) text.append(buffer, n);
    close(fds[0]);
    int status = 0;
    waitpid(asker, &status, 0);
    ASSERT_EQ(status, 0);
    weights = text.substr(0, text.find('\n'));
    trajectories = text.substr(text.find('\n') + 1);
  }
  const pid_t stranger = fork();
  ASSERT_GE(stranger, 0);
  if (stranger == 0) ActAsStranger(65534, control, weights, trajectories);
  int status = 0;
  ASSERT_EQ(waitpid(stranger, &status, 0), stranger);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: answered, 2: got weights, 3: could not setuid";
  EXPECT_TRUE(learner->running()) << ReadFile(run + "/learner.log");

  learner->Signal(SIGINT);
  const auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "decode_errors"), 0) << "the garbage never reached it";
  const std::string log = ReadFile(run + "/learner.log");
  EXPECT_NE(log.find("a process of uid 65534, not this run's user"), std::string::npos) << log;
}

}  // namespace
}  // namespace rlrec::testing
