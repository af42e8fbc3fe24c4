// A learner killed mid-run (SIGKILL: no goodbye, no final checkpoint) and started again with
// --resume continues from its newest checkpoint, while the actors it had keep running and
// reconnect on their own.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

TEST(ResumeTest, KilledLearnerResumesFromItsCheckpointAndTheSameActorsCarryOn) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  // Rows every 5 updates, not every 2 s: the resumed learner may do its updates in under one
  // timed report, and the test looks for a row between the kill and the end.
  const std::vector<std::string> flags = {"--run.checkpoint_every=10",
                                          "--run.report_every_updates=5"};
  auto learner = StartLearner(run, flags);
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);

  // Past a couple of checkpoints, then kill it without warning.
  ASSERT_TRUE(WaitForCheckpoint(run, 20, 30)) << ReadFile(run + "/learner.log");
  learner->Signal(SIGKILL);
  ASSERT_TRUE(learner->WaitFor(10));
  const int checkpoint = NewestCheckpoint(run);
  const double updates_before = NewestUpdate(run);
  ASSERT_FALSE(std::filesystem::exists(run + "/checkpoints/final.pt")) << "it died: no final";

  // Started again, with the same folder and --resume; it ends kMoreUpdates updates on: enough
  // for both actors to find it again before it ends (a 30-update run could end before an
  // actor's weights subscription reconnected, and the actor then missed the end).
  constexpr int kMoreUpdates = 150;
  auto resumed_flags = flags;
  resumed_flags.push_back("--resume");
  resumed_flags.push_back("--run.max_updates=" + std::to_string(checkpoint + kMoreUpdates));
  auto resumed = StartLearner(run, resumed_flags);
  auto status = resumed->WaitFor(120);
  ASSERT_TRUE(status) << ReadFile(run + "/learner.log");
  EXPECT_EQ(*status, 0) << ReadFile(run + "/learner.log");
  const std::string log = ReadFile(run + "/learner.log");
  EXPECT_NE(log.find("resumed from " + run + "/checkpoints/ckpt-"), std::string::npos) << log;

  // Counters continued from the checkpoint, in the same metrics file.
  auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "update"), checkpoint + kMoreUpdates);
  EXPECT_EQ(JsonNumber(rows.back(), "final"), 1);
  bool continued = false;  // a row of the resumed learner between the checkpoint and the end
  for (const auto& row : rows) {
    const double u = JsonNumber(row, "update").value_or(-1);
    continued |= u > updates_before && u < checkpoint + kMoreUpdates;
  }
  EXPECT_TRUE(continued) << "no progress row after the restart";
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/final.pt"));

  // The first actors were never restarted: they kept sending to the new learner and left
  // when it ended the run.
  for (auto* actor : {actor0.get(), actor1.get()}) {
    auto exit = actor->WaitFor(30);
    ASSERT_TRUE(exit) << "an actor outlived the run";
    EXPECT_EQ(*exit, 0);
  }
  for (int id : {0, 1}) {
    const std::string actor_log = ReadFile(run + "/actor-" + std::to_string(id) + ".log");
    EXPECT_NE(actor_log.find("\"reason\":\"run ended\""), std::string::npos) << actor_log;
  }
}

}  // namespace
}  // namespace rlrec::testing
