// Watching a run from outside: TensorBoard files read back with Python across a resume, the
// Prometheus endpoint scraped over HTTP, actors' health in actors.jsonl and `rlrec status`.
// Real learner and actor processes on loopback.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

CommandResult Status(const std::string& run) {
  return RunCommand({BinDir() + "/rlrec", "status", run}, 30);
}

// The samples of a Prometheus text-format page: "name{labels}" -> value. Records a failure
// for any line that is neither a comment nor a sample.
std::map<std::string, double> ParseScrape(const std::string& page) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (\S+)$)");
  std::map<std::string, double> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not a Prometheus sample: " << line;
      continue;
    }
    out[m[1]] = std::stod(m[3]);
  }
  return out;
}

// The value of the first sample whose name and labels start with `prefix`, or -1.
double Sample(const std::map<std::string, double>& samples, const std::string& prefix) {
  for (const auto& [name, value] : samples) {
    if (name.rfind(prefix, 0) == 0) return value;
  }
  return -1;
}

// The value of sample `name` (no labels), or -1.
double Exact(const std::map<std::string, double>& samples, const std::string& name) {
  const auto it = samples.find(name);
  return it == samples.end() ? -1 : it->second;
}

TEST(WatchingTest, TensorBoardFilesHoldTheMetricsRowsOnceEachAcrossAResume) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  const std::vector<std::string> flags = {"--run.checkpoint_every=10",
                                          "--run.report_every_updates=5"};
  auto learner = StartLearner(run, flags);
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);
  ASSERT_TRUE(WaitForCheckpoint(run, 20)) << ReadFile(run + "/learner.log");
  // Rows past the checkpoint, then a crash.
  const int rows_wanted = NewestCheckpoint(run) + 5;
  for (int i = 0; i < 600 && NewestUpdate(run) < rows_wanted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  learner->Signal(SIGKILL);
  ASSERT_TRUE(learner->WaitFor(10));
  const int checkpoint = NewestCheckpoint(run);
  // rlrec status tells a crashed run from a live one by its learner's pid.
  CommandResult crashed = Status(run);
  EXPECT_EQ(crashed.exit_code, 3) << crashed.output;
  EXPECT_NE(crashed.output.find("stopped without finishing"), std::string::npos) << crashed.output;
  EXPECT_NE(crashed.output.find(", update " + std::to_string(checkpoint) + ","), std::string::npos)
      << crashed.output;

  auto resumed_flags = flags;
  resumed_flags.push_back("--resume");
  resumed_flags.push_back("--run.max_updates=" + std::to_string(checkpoint + 60));
  auto resumed = StartLearner(run, resumed_flags);
  auto status = resumed->WaitFor(120);
  ASSERT_TRUE(status) << ReadFile(run + "/learner.log");
  ASSERT_EQ(*status, 0) << ReadFile(run + "/learner.log");
  for (auto* actor : {actor0.get(), actor1.get()}) EXPECT_TRUE(actor->WaitFor(30));

  const CommandResult finished = Status(run);
  EXPECT_EQ(finished.exit_code, 0) << finished.output;
  EXPECT_NE(finished.output.find(": finished"), std::string::npos) << finished.output;
  EXPECT_NE(finished.output.find("tensorboard --logdir " + run + "/tb"), std::string::npos)
      << finished.output;

  // Python, with the classes protoc made of the same .proto, reads every record back.
  const CommandResult probe = RunCommand({"/usr/bin/python3", "-c", "import google.protobuf"});
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "no python3-protobuf here (launch/test installs it as root): " << probe.output;
  }
  const CommandResult read =
      RunCommand({"/usr/bin/python3", SourceDir() + "/tests/integration/read_tensorboard.py", run,
                  BinDir() + "/../python", "--resumed-at", std::to_string(checkpoint)});
  EXPECT_EQ(read.exit_code, 0) << read.output;
  EXPECT_NE(read.output.find("framing, CRCs, step order and values match"), std::string::npos)
      << read.output;
}

TEST(WatchingTest, PrometheusAndStatusFollowTheRunAndASilentActorIsLost) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  const int port = FreeTcpPort();
  ASSERT_GT(port, 0);
  auto learner = StartLearner(run, {"--run.metrics_port=" + std::to_string(port),
                                    "--run.actor_timeout_s=2", "--run.checkpoint_every=20"});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);

  // Both actors reported, and a checkpoint was written.
  std::map<std::string, double> samples;
  std::string page;
  for (int i = 0; i < 600; ++i) {
    page = HttpGet(port, "/metrics").value_or("");
    samples = ParseScrape(page);
    if (Sample(samples, "rlrec_actors_alive") == 2 &&
        Sample(samples, "rlrec_checkpoint_age_s") >= 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Sample(samples, "rlrec_actors_alive"), 2) << page << ReadFile(run + "/learner.log");
  EXPECT_NE(page.find("# TYPE rlrec_updates_total counter"), std::string::npos) << page;
  EXPECT_NE(page.find("# TYPE rlrec_policy_lag_mean gauge"), std::string::npos) << page;
  EXPECT_GT(Sample(samples, "rlrec_updates_total"), 0);
  EXPECT_GT(Sample(samples, "rlrec_env_steps_total"), 0);
  EXPECT_GT(Sample(samples, "rlrec_trajectories_total"), 0);
  EXPECT_EQ(Sample(samples, "rlrec_decode_errors_total"), 0);
  EXPECT_GE(Sample(samples, "rlrec_snapshot_version"), 1);
  EXPECT_GE(Sample(samples, "rlrec_checkpoint_age_s"), 0);
  EXPECT_NE(Sample(samples, "rlrec_total_loss"), -1);
  EXPECT_GE(Sample(samples, "rlrec_learner_wait_share"), 0);
  EXPECT_GT(Sample(samples, "rlrec_actor_env_steps{actor=\"1\""), 0) << page;
  EXPECT_GT(Sample(samples, "rlrec_actor_env_steps_per_second{actor=\"0\""), 0) << page;
  EXPECT_GE(Sample(samples, "rlrec_actor_time_share{actor=\"0\",host=\""), 0) << page;
  EXPECT_EQ(Sample(samples, "rlrec_actor_up{actor=\"1\""), 1) << page;
  EXPECT_EQ(ReadLines(run + "/metrics.endpoint").at(0),
            "http://127.0.0.1:" + std::to_string(port) + "/metrics");

  const CommandResult live = Status(run);
  EXPECT_EQ(live.exit_code, 0) << live.output;
  for (const char* says : {": running", "actor 0", "actor 1", "bottleneck: ", "time: learner waits",
                           "checkpoints: "}) {
    EXPECT_NE(live.output.find(says), std::string::npos) << says << "\n" << live.output;
  }

  // Actor 1 dies without a word: the lead declares it lost after run.actor_timeout_s.
  actor1->Signal(SIGKILL);
  ASSERT_TRUE(actor1->WaitFor(10));
  for (int i = 0; i < 300 && Exact(samples, "rlrec_actors_lost") != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    samples = ParseScrape(HttpGet(port, "/metrics").value_or(""));
  }
  EXPECT_EQ(Exact(samples, "rlrec_actors_lost"), 1);
  EXPECT_EQ(Sample(samples, "rlrec_actors_alive"), 1);
  EXPECT_EQ(Sample(samples, "rlrec_actor_up{actor=\"1\""), 0);
  EXPECT_NE(ReadFile(run + "/learner.log").find("actor 1 ("), std::string::npos);
  EXPECT_NE(ReadFile(run + "/learner.log").find("lost: no report for"), std::string::npos);

  // One row per actor per report, and the loss.
  const auto rows = ReadLines(run + "/actors.jsonl");
  int rows_of[2] = {0, 0};
  bool lost_row = false;
  for (const auto& row : rows) {
    const int id = static_cast<int>(JsonNumber(row, "actor_id").value_or(-1));
    ASSERT_TRUE(id == 0 || id == 1) << row;
    ++rows_of[id];
    for (const char* key : {"pid", "env_steps_per_s", "snapshot_version", "lag", "last_seen"}) {
      EXPECT_TRUE(JsonNumber(row, key).has_value()) << key << " in " << row;
    }
    EXPECT_NE(row.find("\"host\":\""), std::string::npos) << row;
    lost_row |= id == 1 && row.find("\"state\":\"lost\"") != std::string::npos;
  }
  EXPECT_GE(rows_of[0], 2);
  EXPECT_GE(rows_of[1], 2);
  EXPECT_TRUE(lost_row);

  // Stopped by a signal, the learner writes its final row and takes its endpoint file away.
  learner->Signal(SIGTERM);
  auto status = learner->WaitFor(60);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << ReadFile(run + "/learner.log");
  EXPECT_TRUE(actor0->WaitFor(30));
  EXPECT_FALSE(std::filesystem::exists(run + "/metrics.endpoint"));
  const auto metrics = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  // At least actor 1; a slow (sanitized) actor 0 may also miss run.actor_timeout_s once.
  EXPECT_GE(JsonNumber(metrics.back(), "actors_lost_total").value_or(0), 1);
  EXPECT_NE(Status(run).output.find(": finished"), std::string::npos);
  const CommandResult nothing = Status(dir.path() + "/no-such-run");
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;
  EXPECT_NE(nothing.output.find("holds no run"), std::string::npos) << nothing.output;
}

}  // namespace
}  // namespace rlrec::testing
