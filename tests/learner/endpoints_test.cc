// Where a learner rank listens: bind addresses, advertised names, the ports file and the
// choice of ports on a fresh or a resumed run.
#include "learner/endpoints.h"

#include <gtest/gtest.h>

#include "common/base/check.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

TEST(EndpointsTest, PortZeroBindsAFreePortAndPortsAreReadBack) {
  EXPECT_EQ(BindEndpoint("127.0.0.1", 0), "tcp://127.0.0.1:*");
  EXPECT_EQ(BindEndpoint("0.0.0.0", 5555), "tcp://0.0.0.0:5555");
  EXPECT_EQ(PortOf("tcp://127.0.0.1:40123"), 40123);
  EXPECT_EQ(PortOf("inproc://x"), 0);
}

TEST(EndpointsTest, OnlyAWildcardAddressIsReplacedByTheHostName) {
  EXPECT_EQ(AdvertisedEndpoint("tcp://0.0.0.0:5555", "gpu07"), "tcp://gpu07:5555");
  EXPECT_EQ(AdvertisedEndpoint("tcp://10.0.0.1:5555", "gpu07"), "tcp://10.0.0.1:5555");
  // transport.advertise_host wins over both.
  common::RunConfig::Transport transport;
  EXPECT_EQ(Advertise("tcp://127.0.0.1:5555", transport), "tcp://127.0.0.1:5555");
  transport.advertise_host = "gateway.example";
  EXPECT_EQ(Advertise("tcp://0.0.0.0:5555", transport), "tcp://gateway.example:5555");
  EXPECT_EQ(Advertise("tcp://10.0.0.1:5555", transport), "tcp://gateway.example:5555");
  EXPECT_FALSE(common::HostName().empty());
}

TEST(PortsFileTest, WritesOneLinePerSocketAndReadsThemBack) {
  testing::TempDir dir;
  PortsFile ports;
  ports.Set(LearnerSocket::kTrajectory, 7001, /*rank=*/1);
  ports.Set(LearnerSocket::kWeights, 6000);
  ports.Set(LearnerSocket::kControl, 5000);
  ports.Set(LearnerSocket::kTrajectory, 7000, /*rank=*/0);
  EXPECT_EQ(ports.Text(), "control 5000\nweights 6000\ntrajectory.0 7000\ntrajectory.1 7001\n");
  const std::string path = dir.path() + "/ports";
  ports.Write(path);
  PortsFile read = PortsFile::Read(path);
  EXPECT_EQ(read.Get(LearnerSocket::kControl), 5000);
  EXPECT_EQ(read.Get(LearnerSocket::kTrajectory, 1), 7001);
  EXPECT_EQ(read.Get(LearnerSocket::kTrajectory, 2), 0);
  EXPECT_EQ(PortsFile::Read(dir.path() + "/missing").Text(), "");
}

TEST(ChoosePortsTest, ConfiguredPortsWinThenSavedOnesThenFreeOnes) {
  PortsFile saved;
  saved.Set(LearnerSocket::kControl, 5000);
  saved.Set(LearnerSocket::kWeights, 6000);
  saved.Set(LearnerSocket::kTrajectory, 7001, 1);
  common::RunConfig::Transport transport;
  transport.control_port = 4000;
  LearnerPorts rank1 = ChoosePorts(transport, 1, saved);
  EXPECT_EQ(rank1.control, 4000);
  EXPECT_EQ(rank1.weights, 6000);
  EXPECT_EQ(rank1.trajectory, 7001);
  EXPECT_EQ(ChoosePorts(transport, 0, saved).trajectory, 0);  // rank 0 saved none: a free one
  transport.trajectory_port = 9000;                           // fixed: rank r takes 9000 + r
  EXPECT_EQ(ChoosePorts(transport, 0, saved).trajectory, 9000);
  EXPECT_EQ(ChoosePorts(transport, 3, saved).trajectory, 9003);
  EXPECT_EQ(ChoosePorts(common::RunConfig::Transport(), 0, PortsFile()).control, 0);
}

}  // namespace
}  // namespace rlrec::learner
