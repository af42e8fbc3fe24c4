// Authenticated sockets over real loopback TCP: with CURVE and the ZAP handler, a client that
// holds the run's client key gets a welcome, weights, and its trajectories trained on; a
// client without it, or with a key of its own, gets nothing at all.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actors/snapshot/snapshot_cache.h"
#include "actors/trajectory_sender.h"
#include "common/base/error.h"
#include "common/transport/curve.h"
#include "common/transport/zap_handler.h"
#include "common/wire/control.h"
#include "learner/trajectory_receiver.h"
#include "learner/weight_publisher.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

using common::SocketSecurity;

struct SecuredLearner {
  explicit SecuredLearner(const common::CurveKeys& keys)
      : security{true, keys},
        zap(context, keys.client_public),
        control(context, "tcp://127.0.0.1:*", security),
        receiver(context, "tcp://127.0.0.1:*", 4, testing::TestContract(), security),
        publisher(context, "tcp://127.0.0.1:*", 4096, 0.05, security) {
    info.run_id = "run";
    info.trajectory_endpoints = {receiver.endpoint()};
    info.weights_endpoint = publisher.endpoint();
    auto blob = std::make_shared<common::SnapshotBlob>();
    blob->run_id = "run";
    blob->version = 1;
    blob->manifest = {{"w", common::DType::kFloat32, {16}}};
    blob->bytes.assign(64, 0);
    publisher.Publish(blob);
    serving = std::thread([this] {
      while (!stop) {
        control.Serve(info, common::After(0.02));
        publisher.RepublishIfDue();
      }
    });
  }
  ~SecuredLearner() {
    stop = true;
    serving.join();
  }
  common::ZmqContext context;
  SocketSecurity security;
  common::ZapHandler zap;
  common::ControlServer control;
  TrajectoryReceiver receiver;
  WeightPublisher publisher;
  common::LearnerInfo info;
  std::atomic<bool> stop{false};
  std::thread serving;
};

// Whether a client with `security` gets a welcome, a snapshot and a trajectory through.
struct Reached {
  bool welcome = false, weights = false, trajectory = false;
};
Reached Reach(SecuredLearner& learner, const SocketSecurity& security) {
  Reached r;
  common::ZmqContext context;  // the client's own, as in another process
  try {
    common::ControlClient client(context, learner.control.endpoint(), 1.0, 0, security);
    r.welcome = client.Hello(3).run_id == "run";
  } catch (const common::Error&) {
  }
  {
    actors::SnapshotCache cache(context, learner.publisher.endpoint(), {}, 1 << 20, security);
    const auto deadline = common::After(2);
    while (!cache.Latest() && common::Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    r.weights = cache.Latest() != nullptr;
  }
  actors::TrajectorySender sender(context, {learner.receiver.endpoint()}, 1, security);
  sender.Send(
      testing::MakeTestTrajectory(2, 3, 4, 6, 2), [] { return false; }, 2);
  r.trajectory = learner.receiver.Receive(common::After(2)).has_value();
  return r;
}

TEST(CurveSecurityTest, OnlyAClientWithTheRunsKeyIsWelcomedServedAndTrainedOn) {
  const common::CurveKeys keys = common::GenerateCurveKeys();
  SecuredLearner learner(keys);

  const Reached stranger = Reach(learner, {});  // no CURVE at all
  EXPECT_FALSE(stranger.welcome);
  EXPECT_FALSE(stranger.weights);
  EXPECT_FALSE(stranger.trajectory);

  // Knows the server's public key, but has a client key of its own.
  common::CurveKeys impostor = common::GenerateCurveKeys();
  impostor.server_public = keys.server_public;
  const Reached refused = Reach(learner, {true, impostor});
  EXPECT_FALSE(refused.welcome);
  EXPECT_FALSE(refused.weights);
  EXPECT_FALSE(refused.trajectory);
  EXPECT_GE(learner.zap.denied(), 3u);

  common::CurveKeys client = keys;
  client.server_secret.clear();  // what curve-client.keys holds
  const Reached member = Reach(learner, {true, client});
  EXPECT_TRUE(member.welcome);
  EXPECT_TRUE(member.weights);
  EXPECT_TRUE(member.trajectory);
  EXPECT_GE(learner.zap.admitted(), 3u);
  EXPECT_EQ(learner.receiver.received(), 1u);
}

}  // namespace
}  // namespace rlrec::learner
