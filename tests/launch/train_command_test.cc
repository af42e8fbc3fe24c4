// `rlrec train` as a user runs it: Ctrl-C (SIGINT) mid-run stops every process it started
// and leaves a complete run folder.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "common/base/file_modes.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

// The paths under `root` (itself included) that users other than the owner may reach, with
// their modes: "RUN/metrics.jsonl 0644".
std::string OpenToOthers(const std::string& root) {
  std::string open;
  const auto check = [&](const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) || (st.st_mode & 077) == 0) return;
    open += path.string() + " " + common::OctalMode(st.st_mode) + "\n";
  };
  check(root);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    check(entry.path());
  }
  return open;
}

TEST(TrainCommandTest, SigintStopsEveryProcessAndLeavesACompleteRunFolder) {
  TempDir dir;
  const std::string run = dir.path() + "/run-sigint";
  launch::ChildProcess train(
      {BinDir() + "/rlrec", "train", "--config", SourceDir() + "/configs/local.ini", "--actors",
       "2", "--run-dir", run, "run.budget_seconds=300", "run.report_every_s=0.5"},
      dir.path() + "/train.log", false);
  // Wait for a metrics row that shows training under way.
  bool training = false;
  for (int i = 0; i < 1200 && !training; ++i) {
    for (const auto& row : ReadLines(run + "/metrics.jsonl")) {
      training |= JsonNumber(row, "update").value_or(0) > 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(training) << ReadFile(dir.path() + "/train.log");
  EXPECT_TRUE(AnyProcessMentions(run)) << "learner and actors should be running";

  train.Signal(SIGINT);
  auto status = train.WaitFor(90);
  ASSERT_TRUE(status) << "rlrec train did not stop on SIGINT";
  EXPECT_EQ(*status, 0) << ReadFile(dir.path() + "/train.log");
  // No learner or actor of this run is left.
  bool lingering = true;
  for (int i = 0; i < 50 && lingering; ++i) {
    lingering = AnyProcessMentions(run);
    if (lingering) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(lingering);

  auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(JsonNumber(rows.back(), "final"), 1) << rows.back();
  EXPECT_FALSE(ReadFile(run + "/checkpoints/final.pt").empty());
  EXPECT_NE(ReadFile(run + "/config.ini").find("budget_seconds = 300"), std::string::npos);
  EXPECT_NE(ReadFile(run + "/logs/learner.log").find("stopped (signal)"), std::string::npos)
      << ReadFile(run + "/logs/learner.log");
  for (int id : {0, 1}) {
    EXPECT_NE(ReadFile(run + "/logs/actor-" + std::to_string(id) + ".log").find("actor_exit"),
              std::string::npos);
  }
  // The launcher drew the curves at the end.
  EXPECT_EQ(ReadFile(run + "/curves.png").substr(0, 4), "\x89PNG")
      << ReadFile(dir.path() + "/train.log");
  // Everything the run wrote (checkpoints, logs, metrics, tb/, keys, ports, curves) is its
  // owner's alone.
  EXPECT_EQ(OpenToOthers(run), "");
}

TEST(TrainCommandTest, ResumeContinuesAFinishedRunWithItsOwnConfig) {
  TempDir dir;
  const std::string run = dir.path() + "/run-resume";
  auto first = RunCommand({BinDir() + "/rlrec", "train", "--config",
                           SourceDir() + "/configs/local.ini", "--actors", "2", "--run-dir", run,
                           "run.max_updates=20", "run.report_every_s=0.5", "sim.users_per_actor=8"},
                          120);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  // A folder opened to others (by hand, or by an older rlrec) is closed again on the resume.
  ASSERT_EQ(::chmod(run.c_str(), 0755), 0);
  // No --config: the run's config.ini (users_per_actor 8) is used; the budget is raised.
  auto second = RunCommand(
      {BinDir() + "/rlrec", "train", "--resume", run, "--actors", "2", "run.max_updates=40"}, 120);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("run folder " + run + " was mode 0755: now 0700"), std::string::npos)
      << second.output;
  EXPECT_EQ(OpenToOthers(run), "");
  EXPECT_NE(ReadFile(run + "/logs/learner.log")
                .find("resumed from " + run + "/checkpoints/ckpt-000000000020.pt"),
            std::string::npos)
      << ReadFile(run + "/logs/learner.log");
  auto rows = ReadLines(run + "/metrics.jsonl");
  int finals = 0;
  for (const auto& row : rows) finals += JsonNumber(row, "final") == 1;
  EXPECT_EQ(finals, 2) << "both runs' rows are in one metrics.jsonl";
  EXPECT_EQ(JsonNumber(rows.back(), "update"), 40);
  EXPECT_NE(ReadFile(run + "/config.ini").find("users_per_actor = 8"), std::string::npos);
  EXPECT_NE(ReadFile(run + "/config.ini").find("max_updates = 40"), std::string::npos);
}

TEST(ServeCheckTest, AnExportOfATrainedRunAnswersEveryRequestAndReportsLatency) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto train =
      RunCommand({BinDir() + "/rlrec", "train", "--config", SourceDir() + "/configs/local.ini",
                  "--actors", "1", "--run-dir", run, "run.max_updates=5", "sim.users_per_actor=8"},
                 120);
  ASSERT_EQ(train.exit_code, 0) << train.output;
  auto exported = RunCommand({BinDir() + "/rlrec", "export", "--checkpoint",
                              run + "/checkpoints/final.pt", "--out", dir.path() + "/serving"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto check = RunCommand({BinDir() + "/rlrec", "serve-check", "--export", dir.path() + "/serving",
                           "--users", "200", "--seconds", "0.3", "--json"},
                          120);
  ASSERT_EQ(check.exit_code, 0) << check.output;
  std::vector<std::string> lines;
  std::istringstream in(check.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{", 0) == 0) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 2u) << check.output;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(JsonNumber(lines[i], "batch"), i == 0 ? 1 : 64);
    EXPECT_EQ(JsonNumber(lines[i], "wrong"), 0);
    EXPECT_GT(JsonNumber(lines[i], "requests").value_or(0), 0);
    EXPECT_GT(JsonNumber(lines[i], "p99_ms").value_or(0), 0);
    EXPECT_GE(JsonNumber(lines[i], "p99_ms").value_or(0),
              JsonNumber(lines[i], "p50_ms").value_or(1));
  }
  // A folder without an export is refused, naming the file.
  auto missing = RunCommand({BinDir() + "/rlrec", "serve-check", "--export", dir.path()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("rlrec_policy/1/model.pt"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace rlrec::testing
