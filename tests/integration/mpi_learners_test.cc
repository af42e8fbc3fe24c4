// Learners as one MPI job: `mpirun -np 2 rlrec-learner` with two actors, through real
// processes, sockets and MPI.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "common/base/deadline.h"
#include "learner/train/checkpoint.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

TEST(MpiLearnersTest, TwoRanksShareTheActorsDataAndStopTogetherWithOneCheckpoint) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  std::filesystem::create_directories(run);
  std::vector<std::string> argv = MpirunPrefix(2);
  argv.push_back(BinDir() + "/rlrec-learner");
  argv.insert(argv.end(), {"--run-dir", run});
  for (const auto& f : SmallJobFlags()) argv.push_back(f);
  argv.push_back("--run.max_updates=30");
  launch::ChildProcess learners(argv, dir.path() + "/learners.log", false);
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(dir.path() + "/learners.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);

  auto status = learners.WaitFor(180);
  ASSERT_TRUE(status) << "the learner job did not finish\n"
                      << ReadFile(dir.path() + "/learners.log");
  const std::string log = ReadFile(dir.path() + "/learners.log");
  EXPECT_EQ(*status, 0) << log;
  EXPECT_TRUE(actor0->WaitFor(30) && actor1->WaitFor(30)) << "actors outlived the run";

  // Each actor was handed both ranks' endpoints...
  for (int id : {0, 1}) {
    EXPECT_NE(
        ReadFile(run + "/actor-" + std::to_string(id) + ".log").find("2 trajectory endpoint(s)"),
        std::string::npos);
  }
  // ...and rank 1 trained on what reached it, in step with the lead.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex(R"(rank 1 stopped \(max_updates\) after 30 updates, (\d+) trajectories)")))
      << log;
  EXPECT_GE(std::stoi(m[1]), 30 * 2) << "rank 1 needs 2 trajectories per update";
  auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "final"), 1);
  EXPECT_EQ(JsonNumber(rows.back(), "update"), 30);
  EXPECT_EQ(JsonNumber(rows.back(), "learner_ranks"), 2);
  // Both ranks' data counts: 30 updates x 2 ranks x 2 trajectories of 8 users x 10 steps.
  EXPECT_GE(JsonNumber(rows.back(), "env_steps").value_or(0), 30 * 2 * 2 * 80);
  EXPECT_FALSE(ReadFile(run + "/checkpoints/final.pt").empty());
}

TEST(MpiLearnersTest, TooFewLearnerHostsIsAnErrorNotAPackingOntoTheFirstHost) {
  TempDir dir;
  std::ofstream(dir.path() + "/hosts") << "# one host\nnode-a slots=8\n\n";
  const std::string script = SourceDir() + "/launch/mpi-train";
  const CommandResult r = RunCommand({script, "--learners", "2", "--actors", "1", "--learner-hosts",
                                      dir.path() + "/hosts", "--run-dir", dir.path() + "/run"},
                                     60);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("2 learner ranks at 1 per host need 2 hosts; '" + dir.path() +
                          "/hosts' lists 1"),
            std::string::npos)
      << r.output;
  // A count per host that is not positive is refused too.
  const CommandResult bad_count =
      RunCommand({script, "--learners", "2", "--learner-hosts", dir.path() + "/hosts",
                  "--learners-per-host", "0", "--run-dir", dir.path() + "/run2"},
                 60);
  EXPECT_EQ(bad_count.exit_code, 2) << bad_count.output;
}

// The process of learner rank `rank` of the job whose command line names `run`, or 0.
pid_t LearnerRank(const std::string& run, int rank) {
  const std::string mark = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (pid_t pid : ProcessesMentioning(run)) {
    std::string environment = ReadFile("/proc/" + std::to_string(pid) + "/environ");
    for (char& c : environment) {
      if (c == '\0') c = '\n';
    }
    if (("\n" + environment).find("\n" + mark + "\n") != std::string::npos) return pid;
  }
  return 0;
}

// How rank 1 is lost.
enum class Fault {
  kKill,                 // SIGKILL, whenever it lands
  kStop,                 // SIGSTOP, whenever it lands: between updates, or inside one
  kStopInsideAllReduce,  // SIGSTOP as it enters its 40th gradient all-reduce
};

// Two learner ranks under mpirun told to leave a job running when one rank ends (as
// launch/mpi-train does), training with two actors, until `fault` strikes rank 1: the lead
// must notice within learner.collective_timeout_s, write a final metrics row and a final
// checkpoint of the last update and end the job with a non-zero status; a rank lost between
// updates is named.
void ExpectLeadSurvivesLosingRankOne(Fault fault) {
  constexpr double kTimeoutS = 5;
  TempDir dir;
  const std::string run = dir.path() + "/run", log = dir.path() + "/learners.log";
  std::filesystem::create_directories(run);
  std::vector<std::string> argv = MpirunPrefix(2);
  argv.insert(argv.end(), {"--mca", "orte_abort_on_non_zero_status", "0"});
  if (fault == Fault::kStopInsideAllReduce) {
    // MPI's profiling interface stops rank 1 in MPI_Allreduce (stall_allreduce.cc).
    const char* asan = std::getenv("ASAN_OPTIONS");
    argv.insert(argv.end(), {"-x", std::string("LD_PRELOAD=") + RLREC_STALL_ALLREDUCE_LIB, "-x",
                             "RLREC_STALL_RANK=1", "-x", "RLREC_STALL_AT=40", "-x",
                             std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") +
                                 "verify_asan_link_order=0"});
  }
  argv.insert(argv.end(), {BinDir() + "/rlrec-learner", "--run-dir", run});
  for (const auto& f : SmallJobFlags()) argv.push_back(f);
  argv.insert(argv.end(), {"--run.max_updates=1000000", "--learner.collective_timeout_s=5"});
  launch::ChildProcess learners(argv, log, false);
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(log);
  const pid_t victim = LearnerRank(run, 1);
  ASSERT_GT(victim, 0) << "rank 1's process not found";
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);
  // Train a little first.
  const auto deadline = common::After(120);
  while (NewestUpdate(run) < 5 && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(NewestUpdate(run), 5) << ReadFile(log);

  if (fault != Fault::kStopInsideAllReduce) {
    ASSERT_EQ(::kill(victim, fault == Fault::kKill ? SIGKILL : SIGSTOP), 0);
  }
  const auto struck = common::Clock::now();
  const auto status = learners.WaitFor(kTimeoutS + 60);
  const double seconds = common::SecondsSince(struck);
  ::kill(victim, SIGKILL);  // whatever happened, leave nothing behind
  ASSERT_TRUE(status) << "the learner job did not end\n" << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(*status, 0) << text;
  std::cout << "rank 1 " << (fault == Fault::kKill ? "killed" : "stopped") << ": the job ended "
            << seconds << " s later (collective timeout " << kTimeoutS << " s)" << std::endl;
  EXPECT_LT(seconds, kTimeoutS + 30) << text;
  // Nothing trained is lost: the final checkpoint is of the last update.
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(text, m, std::regex(R"(writing a final checkpoint of update (\d+))")))
      << text;
  const int updates = std::stoi(m[1]);
  EXPECT_GE(updates, 5);
  EXPECT_TRUE(std::filesystem::exists(learner::CheckpointPath(run + "/checkpoints", updates)));
  EXPECT_TRUE(std::filesystem::exists(run + "/checkpoints/final.pt"));
  // Either way the run's last row is a final one, of the last update.
  const auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "final"), 1) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "update"), updates) << rows.back();
  const bool in_allreduce =
      text.find("MPI_Allreduce did not complete within 5 s") != std::string::npos;
  if (fault == Fault::kStopInsideAllReduce) {
    EXPECT_TRUE(in_allreduce) << text;
  }
  if (in_allreduce) {
    // Lost inside the blocking all-reduce (the lead cannot tell which rank): the watchdog
    // wrote the final row, checkpointed and ended the job.
    std::cout << "rank 1 was lost inside the gradient all-reduce" << std::endl;
    return;
  }
  // Lost between updates: named, and the actors told.
  EXPECT_NE(text.find("learner rank(s) 1 of 2 did not check in within 5 s"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rank 1 took trajectories at tcp://"), std::string::npos) << text;
  EXPECT_TRUE(actor0->WaitFor(30) && actor1->WaitFor(30)) << "actors outlived the run";
}

TEST(MpiLearnersTest, AKilledRankIsNamedAndTheLeadCheckpointsThenFailsTheJob) {
  ExpectLeadSurvivesLosingRankOne(Fault::kKill);
}

TEST(MpiLearnersTest, AStalledRankIsNamedAndTheLeadCheckpointsThenFailsTheJob) {
  ExpectLeadSurvivesLosingRankOne(Fault::kStop);
}

// The watchdog's path: the lead waits inside the blocking all-reduce, where nothing but the
// watchdog can act; its last words still write the final row and checkpoint.
TEST(MpiLearnersTest, ARankStalledInsideTheAllReduceStillGetsTheRunAFinalRowAndCheckpoint) {
  ExpectLeadSurvivesLosingRankOne(Fault::kStopInsideAllReduce);
}

}  // namespace
}  // namespace rlrec::testing
