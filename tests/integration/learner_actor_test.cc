// The whole loop with real processes on loopback: a learner and two actors train, every actor
// receives newer weights, and everything exits by itself when the budget is spent.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

std::string ExitLine(const std::string& log, const std::string& event) {
  for (const auto& line : ReadLines(log)) {
    if (line.find("\"event\":\"" + event + "\"") != std::string::npos) return line;
  }
  return "";
}

TEST(LearnerActorTest, TrajectoriesArriveUpdatesHappenWeightsFlowAndAllExitCleanly) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  // Enough updates that both actors join before the end, however fast the learner is.
  constexpr int kUpdates = 200;
  auto learner = StartLearner(run, {"--run.max_updates=" + std::to_string(kUpdates)});
  std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);

  auto learner_status = learner->WaitFor(180);
  ASSERT_TRUE(learner_status) << "learner still running\n" << ReadFile(run + "/learner.log");
  EXPECT_EQ(*learner_status, 0) << ReadFile(run + "/learner.log");
  // Actors leave on the learner's end-of-run message, without being signalled.
  auto status0 = actor0->WaitFor(30), status1 = actor1->WaitFor(30);
  ASSERT_TRUE(status0 && status1) << "an actor did not exit by itself";
  EXPECT_EQ(*status0, 0) << ReadFile(run + "/actor-0.log");
  EXPECT_EQ(*status1, 0) << ReadFile(run + "/actor-1.log");

  auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  const std::string& last = rows.back();
  EXPECT_EQ(JsonNumber(last, "update"), kUpdates);
  EXPECT_GE(JsonNumber(last, "trajectories_received").value_or(0), 2 * kUpdates);
  EXPECT_EQ(JsonNumber(last, "decode_errors"), 0);
  EXPECT_EQ(JsonNumber(last, "final"), 1);
  EXPECT_EQ(JsonNumber(last, "snapshot_version"), kUpdates);
  for (const char* key : {"env_steps", "env_steps_per_s", "policy_loss", "value_loss", "entropy",
                          "policy_lag_min", "policy_lag_mean", "policy_lag_max"}) {
    EXPECT_TRUE(JsonNumber(last, key).has_value()) << key << " missing in " << last;
  }
  // Where the learner's time went: shares of each window, and the updates took some of it.
  double busy = 0;
  for (const auto& row : rows) {
    for (const char* key : {"learner_wait_share", "device_busy_share"}) {
      const double share = JsonNumber(row, key).value_or(-1);
      EXPECT_GE(share, 0) << key << " in " << row;
      EXPECT_LE(share, 1) << key << " in " << row;
    }
    busy += JsonNumber(row, "device_busy_share").value_or(0);
  }
  EXPECT_GT(busy, 0);

  for (int id : {0, 1}) {
    std::string log = run + "/actor-" + std::to_string(id) + ".log";
    std::string exit_line = ExitLine(log, "actor_exit");
    ASSERT_FALSE(exit_line.empty()) << ReadFile(log);
    EXPECT_NE(exit_line.find("\"reason\":\"run ended\""), std::string::npos) << exit_line;
    // At least two newer versions than the first one it used.
    EXPECT_GE(JsonNumber(exit_line, "snapshots_applied").value_or(0), 3) << exit_line;
    EXPECT_GE(JsonNumber(exit_line, "last_version").value_or(0),
              JsonNumber(exit_line, "first_version").value_or(0) + 2)
        << exit_line;
    EXPECT_GT(JsonNumber(exit_line, "unrolls_sent").value_or(0), 0) << exit_line;
    // Where the actor's time went: every phase ran.
    for (const char* phase : {"simulate_s", "infer_s", "sample_s", "encode_s"}) {
      EXPECT_GT(JsonNumber(exit_line, phase).value_or(0), 0) << phase << " in " << exit_line;
    }
  }
  std::string learner_exit = ExitLine(run + "/learner.log", "learner_exit");
  EXPECT_NE(learner_exit.find("\"reason\":\"max_updates\""), std::string::npos) << learner_exit;
  EXPECT_FALSE(ReadFile(run + "/checkpoints/final.pt").empty());
  EXPECT_NE(ReadFile(run + "/config.ini").find("batch_trajectories = 2"), std::string::npos);

  // The trained policy evaluates on held-out users; the run's config.ini is found by itself.
  CommandResult eval =
      RunCommand({BinDir() + "/rlrec", "eval", "--policy",
                  "checkpoint:" + run + "/checkpoints/final.pt", "--users", "20", "--json"});
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_GT(JsonNumber(eval.output, "mean_return").value_or(0), 0) << eval.output;
  CommandResult missing = RunCommand(
      {BinDir() + "/rlrec", "eval", "--policy", "checkpoint:" + run + "/checkpoints/none.pt"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("cannot load a policy from checkpoint"), std::string::npos)
      << missing.output;
}

// With sparse item tables the lead publishes deltas, a full snapshot every
// transport.full_snapshot_every versions; actors rebuild every version from them and check the
// learner's state checksum at the full ones.
TEST(LearnerActorTest, SparseTablesTravelAsDeltasThatActorsRebuildExactly) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner =
      StartLearner(run, {"--run.max_updates=30", "--learner.table_optimizer=row_adagrad",
                         "--sim.corpus_size=20000", "--transport.full_snapshot_every=10"});
  std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor = StartActor(run, control, 0, {"--sim.corpus_size=20000"});
  auto rows = WaitForFinishedRun(*learner, *actor, run);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "snapshot_version"), 30);
  const std::string learner_log = ReadFile(run + "/learner.log");
  // "full snapshot of version 10, B bytes; the 9 deltas before it took D bytes each ..."
  EXPECT_NE(learner_log.find("full snapshot of version 20"), std::string::npos) << learner_log;
  const std::string log = run + "/actor-0.log";
  const std::string exit_line = ExitLine(log, "actor_exit");
  ASSERT_FALSE(exit_line.empty()) << ReadFile(log);
  EXPECT_GE(JsonNumber(exit_line, "deltas_applied").value_or(0), 10) << exit_line;
  EXPECT_EQ(JsonNumber(exit_line, "refused_deltas"), 0) << exit_line << "\n" << ReadFile(log);
  EXPECT_GE(JsonNumber(exit_line, "last_version").value_or(0), 25) << exit_line;
}

// The files of `dir` (a shared-memory folder of a test).
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename());
  }
  return names;
}

// Two actors of one host act on one shared snapshot that one of them receives; killed, its
// role passes to the other, which goes on following the learner's versions (deltas applied in
// place on the shared copy); the last one out removes the segment.
TEST(LearnerActorTest, ActorsOfAHostShareOneSnapshotAndTheOtherTakesOverWhenItsReceiverDies) {
  TempDir dir, shm;
  const std::string run = dir.path() + "/run";
  const std::vector<std::string> model = {"--sim.corpus_size=20000",
                                          "--actor.shm_dir=" + shm.path()};
  auto learner =
      StartLearner(run, {"--run.max_updates=200", "--learner.table_optimizer=row_adagrad",
                         "--sim.corpus_size=20000", "--transport.full_snapshot_every=10"});
  std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  std::vector<std::unique_ptr<launch::ChildProcess>> actors;
  actors.push_back(StartActor(run, control, 0, model));
  actors.push_back(StartActor(run, control, 1, model));
  const auto receives = [&](int id) {
    return ReadFile(run + "/actor-" + std::to_string(id) + ".log")
               .find("this actor receives the host's shared snapshot") != std::string::npos;
  };
  int receiver = -1;
  for (int i = 0; i < 600 && (receiver < 0 || NewestUpdate(run) < 20); ++i) {
    if (receiver < 0) receiver = receives(0) ? 0 : receives(1) ? 1 : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(receiver, 0) << ReadFile(run + "/actor-0.log") << ReadFile(run + "/actor-1.log");
  ASSERT_GE(NewestUpdate(run), 20) << ReadFile(run + "/learner.log");
  EXPECT_FALSE(receives(1 - receiver)) << "two receivers on one host";
  EXPECT_EQ(FilesIn(shm.path()).size(), 1u) << "one segment per run and host";
  actors[receiver]->Signal(SIGKILL);
  ASSERT_TRUE(actors[receiver]->WaitFor(10));

  const int survivor = 1 - receiver;
  auto rows = WaitForFinishedRun(*learner, *actors[survivor], run);
  ASSERT_FALSE(rows.empty());
  const std::string log = run + "/actor-" + std::to_string(survivor) + ".log";
  EXPECT_TRUE(receives(survivor)) << ReadFile(log);
  const std::string exit_line = ExitLine(log, "actor_exit");
  ASSERT_FALSE(exit_line.empty()) << ReadFile(log);
  EXPECT_EQ(JsonNumber(exit_line, "shared_snapshot"), 1) << exit_line;
  EXPECT_EQ(JsonNumber(exit_line, "receiver"), 1) << exit_line;
  EXPECT_EQ(JsonNumber(exit_line, "refused_deltas"), 0) << exit_line << "\n" << ReadFile(log);
  EXPECT_GE(JsonNumber(exit_line, "deltas_applied").value_or(0), 5) << exit_line;
  EXPECT_GE(JsonNumber(exit_line, "last_version").value_or(0), 50) << exit_line;
  EXPECT_TRUE(FilesIn(shm.path()).empty()) << "the segment outlived the run";
}

}  // namespace
}  // namespace rlrec::testing
