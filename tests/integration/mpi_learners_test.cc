// Learners as one MPI job: `mpirun -np 2 rlrec-learner` with two actors, through real
// processes, sockets and MPI.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

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

}  // namespace
}  // namespace rlrec::testing
