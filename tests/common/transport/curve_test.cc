// A run's CURVE keys: made fresh, kept owner-only, read back; and when CURVE is on.
#include "common/transport/curve.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/base/error.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

TEST(CurveTest, KeysAreWrittenOwnerOnlyAndReadBackTheClientsWithoutTheServerSecret) {
  testing::TempDir dir;
  const CurveKeys keys = GenerateCurveKeys();
  EXPECT_EQ(keys.server_public.size(), 40u);
  EXPECT_NE(keys.server_public, keys.client_public);
  const std::string all = dir.path() + "/curve.keys", client = dir.path() + "/client.keys";
  WriteCurveKeys(all, keys, /*for_clients=*/false);
  WriteCurveKeys(client, keys, /*for_clients=*/true);
  struct stat st {};
  ASSERT_EQ(::stat(all.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const CurveKeys read = ReadCurveKeys(all);
  EXPECT_EQ(read.server_secret, keys.server_secret);
  EXPECT_EQ(read.client_secret, keys.client_secret);
  const CurveKeys for_clients = ReadCurveKeys(client);
  EXPECT_EQ(for_clients.server_public, keys.server_public);
  EXPECT_TRUE(for_clients.server_secret.empty());
  EXPECT_EQ(ParseCurveKeysText(CurveKeysText(keys), "text").server_secret, keys.server_secret);
}

TEST(CurveTest, AKeyFileOthersCanReadOrAMalformedOneIsRefused) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/curve.keys";
  WriteCurveKeys(path, GenerateCurveKeys(), false);
  ::chmod(path.c_str(), 0644);
  try {
    ReadCurveKeys(path);
    FAIL() << "read a key file the world can read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("readable by others"), std::string::npos) << e.what();
  }
  std::ofstream(dir.path() + "/bad.keys") << "server_public = short\n";
  ::chmod((dir.path() + "/bad.keys").c_str(), 0600);
  EXPECT_THROW(ReadCurveKeys(dir.path() + "/bad.keys"), Error);
  EXPECT_THROW(ReadCurveKeys(dir.path() + "/missing.keys"), Error);
}

TEST(CurveTest, AutoUsesCurveExactlyOffLoopback) {
  EXPECT_FALSE(UsesCurve(Security::kAuto, "127.0.0.1"));
  EXPECT_FALSE(UsesCurve(Security::kAuto, "localhost"));
  EXPECT_FALSE(UsesCurve(Security::kAuto, "::1"));
  EXPECT_TRUE(UsesCurve(Security::kAuto, "0.0.0.0"));
  EXPECT_TRUE(UsesCurve(Security::kAuto, "10.1.2.3"));
  EXPECT_TRUE(UsesCurve(Security::kAuto, "node17"));
  EXPECT_TRUE(UsesCurve(Security::kCurve, "127.0.0.1"));
  EXPECT_FALSE(UsesCurve(Security::kNone, "10.1.2.3"));
  EXPECT_EQ(EndpointHost("tcp://10.1.2.3:5555"), "10.1.2.3");
  EXPECT_EQ(EndpointHost("tcp://node17:5555"), "node17");
}

TEST(CurveTest, AnActorReachingALearnerOffLoopbackNeedsItsKeyFile) {
  RunConfig::Transport transport;
  transport.control = "tcp://127.0.0.1:5555";
  EXPECT_FALSE(ClientSecurity(transport).curve);
  transport.control = "tcp://10.1.2.3:5555";
  try {
    ClientSecurity(transport);
    FAIL() << "CURVE without keys";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("give transport.key_file"), std::string::npos) << e.what();
  }
  testing::TempDir dir;
  WriteCurveKeys(dir.path() + "/c.keys", GenerateCurveKeys(), true);
  transport.key_file = dir.path() + "/c.keys";
  EXPECT_TRUE(ClientSecurity(transport).curve);
}

}  // namespace
}  // namespace rlrec::common
