// What the lead serves actors, over real sockets: a hello is answered with every rank's
// endpoint, snapshots reach subscribers, the run folder says where to connect, and the end of
// the run is announced and its endpoint file removed.
#include "learner/lead_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "actors/snapshot/snapshot_cache.h"
#include "common/wire/control.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

std::shared_ptr<common::SnapshotBlob> Blob(uint64_t version) {
  auto blob = std::make_shared<common::SnapshotBlob>();
  blob->run_id = "run-a";
  blob->version = version;
  common::ParamSpec spec;
  spec.name = "w";
  spec.dtype = common::DType::kFloat32;
  spec.shape = {4};
  blob->manifest.push_back(spec);
  blob->bytes.assign(16, static_cast<uint8_t>(version));
  return blob;
}

TEST(LeadServerTest, AnswersHellosPublishesSnapshotsAndAnnouncesTheEnd) {
  testing::TempDir dir;
  const common::RunDir run(dir.path() + "/run-a");
  std::filesystem::create_directories(run.path());
  common::ZmqContext context;
  common::RunConfig::Transport transport;
  const std::vector<std::string> trajectories = {"tcp://127.0.0.1:7000", "tcp://127.0.0.1:7001"};
  LeadServer server(context, transport, run, LearnerPorts(), trajectories, Blob(3));

  // The run folder says where it listens.
  EXPECT_EQ(run.ReadControlEndpoint(), server.control_endpoint());
  const PortsFile ports = PortsFile::Read(run.ports());
  EXPECT_EQ(ports.Get(LearnerSocket::kControl), PortOf(server.control_endpoint()));
  EXPECT_EQ(ports.Get(LearnerSocket::kWeights), PortOf(server.weights_endpoint()));
  EXPECT_EQ(ports.Get(LearnerSocket::kTrajectory, 1), 7001);

  // An actor's hello, answered while the server is served.
  common::LearnerInfo info;
  std::atomic<bool> welcomed{false};
  std::thread actor([&] {
    common::ControlClient client(context, server.control_endpoint(), 5, 2);
    info = client.Hello(/*actor_id=*/4);
    welcomed = true;
  });
  const TrainingCounters counters{5, 500, 3};
  const auto deadline = common::After(10);
  while (!welcomed && common::Clock::now() < deadline) server.Serve(counters);
  actor.join();
  EXPECT_EQ(info.run_id, "run-a");
  EXPECT_EQ(info.trajectory_endpoints, trajectories);
  EXPECT_EQ(info.weights_endpoint, server.weights_endpoint());
  // A hello alone does not count an actor: its trajectories do.
  EXPECT_EQ(server.actors_seen(), 0u);
  server.health().Admit({4});
  EXPECT_EQ(server.actors_seen(), 1u);

  // Snapshots reach a subscriber (the first one through re-publication), then the end.
  actors::SnapshotCache cache(context, server.weights_endpoint());
  const auto version_4 = [](bool full, const auto&) {
    EXPECT_TRUE(full) << "a full snapshot was due";
    return std::vector<std::shared_ptr<const common::SnapshotBlob>>{Blob(4)};
  };
  server.PublishVersion(/*full_due=*/true, version_4);
  while ((!cache.Latest() || cache.Latest()->version != 4) && common::Clock::now() < deadline) {
    server.Serve(counters);
    server.PublishVersion(/*full_due=*/true, version_4);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(cache.Latest(), nullptr);
  EXPECT_EQ(cache.Latest()->version, 4u);
  EXPECT_EQ(cache.Latest()->bytes, Blob(4)->bytes);
  server.EndRun("max_updates");
  while (!cache.run_ended() && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(cache.run_ended());
  EXPECT_FALSE(std::filesystem::exists(run.control_endpoint()));
}

}  // namespace
}  // namespace rlrec::learner
