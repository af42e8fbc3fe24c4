// A whole run with CURVE on: the learner makes the run's keys (owner-only), its actor trains
// with the client keys, and an actor without them is turned away with a reason.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

TEST(SecureRunTest, ACurveRunTrainsWithTheRunsKeysAndTurnsAwayAnActorWithout) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {"--run.max_updates=30", "--transport.security=curve"});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  for (const char* file : {"/curve.keys", "/curve-client.keys"}) {
    struct stat st {};
    ASSERT_EQ(::stat((run + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  EXPECT_EQ(ReadFile(run + "/curve-client.keys").find("server_secret"), std::string::npos);

  auto keyless = StartActor(run, control, 1, {"--transport.security=curve"});
  const auto keyless_status = keyless->WaitFor(60);
  ASSERT_TRUE(keyless_status);
  EXPECT_NE(*keyless_status, 0);
  EXPECT_NE(ReadFile(run + "/actor-1.log").find("give transport.key_file"), std::string::npos)
      << ReadFile(run + "/actor-1.log");

  auto actor = StartActor(
      run, control, 0,
      {"--transport.security=curve", "--transport.key_file=" + run + "/curve-client.keys"});
  const auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "update"), 30) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "actors_seen"), 1) << rows.back();
  EXPECT_NE(ReadFile(run + "/learner.log").find("CURVE security"), std::string::npos);
}

}  // namespace
}  // namespace rlrec::testing
