// Operations that fail safe: a killed actor costs the learner nothing and a new one with its
// id rejoins; a second learner on a run folder is refused and the first goes on untouched; a
// full disk costs checkpoints (counted, named, retried) but not the run, and a run that ends
// on a full disk names the newest checkpoint that remains.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "learner/train/checkpoint.h"
#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

namespace fs = std::filesystem;

TEST(FaultsTest, AKilledActorCostsTheLearnerNothingAndItsSuccessorRejoins) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto learner = StartLearner(run, {"--run.max_updates=100000"});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");
  auto actor0 = StartActor(run, control, 0);
  auto actor1 = StartActor(run, control, 1);
  const auto deadline = common::After(120);
  while (NewestUpdate(run) < 10 && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(NewestUpdate(run), 10) << ReadFile(run + "/learner.log");

  // Without warning: no goodbye, half an unroll perhaps in flight.
  actor1->Signal(SIGKILL);
  ASSERT_TRUE(actor1->WaitFor(10));
  const double at_kill = NewestUpdate(run);
  while (NewestUpdate(run) < at_kill + 10 && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(NewestUpdate(run), at_kill + 10) << "training stopped with the actor";
  EXPECT_TRUE(learner->running());

  // A new actor with the dead one's id joins the same run.
  std::filesystem::remove(run + "/actor-1.log");
  const auto restarted = common::Clock::now();
  actor1 = StartActor(run, control, 1);
  while (ReadFile(run + "/actor-1.log").find("joined run") == std::string::npos &&
         common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double rejoin_s = common::SecondsSince(restarted);
  ASSERT_NE(ReadFile(run + "/actor-1.log").find("joined run"), std::string::npos)
      << ReadFile(run + "/actor-1.log");
  std::cout << "a killed actor's successor joined " << rejoin_s << " s after it started"
            << std::endl;
  learner->Signal(SIGTERM);
  const auto status = learner->WaitFor(60);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << ReadFile(run + "/learner.log");
  EXPECT_TRUE(actor0->WaitFor(30) && actor1->WaitFor(30)) << "actors outlived the run";
  const auto rows = ReadLines(run + "/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  // One actor id came back, not a third actor; nothing it sent was refused.
  EXPECT_EQ(JsonNumber(rows.back(), "actors_seen"), 2) << rows.back();
  EXPECT_EQ(JsonNumber(rows.back(), "decode_errors"), 0) << rows.back();
  EXPECT_NE(ReadFile(run + "/actor-1.log").find("\"unrolls_sent\":"), std::string::npos);
}

TEST(FaultsTest, ASecondLearnerOnARunFolderIsRefusedNamingTheFirst) {
  TempDir dir;
  const std::string run = dir.path() + "/run";
  auto first = StartLearner(run, {});
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(run + "/learner.log");

  auto second = StartLearner(run, {}, dir.path() + "/second.log");
  const auto status = second->WaitFor(60);
  ASSERT_TRUE(status) << "the second learner is still running";
  EXPECT_NE(*status, 0);
  const std::string why = ReadFile(dir.path() + "/second.log");
  EXPECT_NE(why.find("is in use by another learner (pid " + std::to_string(first->pid())),
            std::string::npos)
      << why;
  // The first is untouched: still running, its endpoint file still there, its rows its own.
  EXPECT_TRUE(first->running());
  EXPECT_EQ(ReadFile(run + "/control.endpoint").find(control), 0u);
  first->Signal(SIGTERM);
  const auto first_status = first->WaitFor(60);
  ASSERT_TRUE(first_status);
  EXPECT_EQ(*first_status, 0) << ReadFile(run + "/learner.log");
  for (const auto& row : ReadLines(run + "/metrics.jsonl")) {
    EXPECT_TRUE(JsonNumber(row, "update").has_value()) << row;
  }
}

// A small tmpfs mounted for the test's lifetime (root only).
class SmallDisk {
 public:
  SmallDisk(const std::string& path, const char* size) : path_(path) {
    fs::create_directories(path);
    const std::string options = std::string("size=") + size;
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// Writes `path` until the disk is full.
void FillDisk(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(1 << 16, 'x');
  while (out.write(block.data(), block.size()) && out.flush()) {
  }
}

// How many times `needle` occurs in `text`.
size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(FaultsTest, AFullDiskCostsCheckpointsNotTheRun) {
  TempDir dir;
  SmallDisk disk(dir.path() + "/disk", "32m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  const std::string run = dir.path() + "/disk/run", log = dir.path() + "/learner.log";
  auto learner = StartLearner(run, {"--run.checkpoint_every=5", "--run.max_updates=100000"}, log);
  const std::string control = WaitForControlEndpoint(run);
  ASSERT_FALSE(control.empty()) << ReadFile(log);
  auto actor = StartActor(dir.path(), control, 0);
  const auto deadline = common::After(120);
  while (ReadFile(log).find("checkpoint of update") == std::string::npos &&
         learner::ListCheckpoints(run + "/checkpoints").empty() &&
         common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(learner::ListCheckpoints(run + "/checkpoints").empty()) << ReadFile(log);

  FillDisk(dir.path() + "/disk/filler");
  // Wait for a checkpoint to fail: TensorBoard and actors.jsonl rows hit the full disk too,
  // and their errors can come first.
  while (ReadFile(log).find("failed (") == std::string::npos && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(ReadFile(log).find("No space left on device"), std::string::npos) << ReadFile(log);
  EXPECT_TRUE(learner->running()) << ReadFile(log);
  // No temporary file is left behind, and an older checkpoint is still there.
  for (const auto& entry : fs::directory_iterator(run + "/checkpoints")) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
  EXPECT_FALSE(learner::ListCheckpoints(run + "/checkpoints").empty());

  // Space again: the next checkpoint is written, and the next row counts the failure.
  const int before = NewestCheckpoint(run);
  fs::remove(dir.path() + "/disk/filler");
  const auto failures_counted = [&] {
    const auto rows = ReadLines(run + "/metrics.jsonl");
    return !rows.empty() && JsonNumber(rows.back(), "failed_checkpoints").value_or(0) >= 1;
  };
  while ((NewestCheckpoint(run) <= before || !failures_counted()) &&
         common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(NewestCheckpoint(run), before) << ReadFile(log);
  EXPECT_TRUE(failures_counted()) << ReadLines(run + "/metrics.jsonl").back();

  // Full again when the run ends: the log and the exit message say that the final checkpoint
  // could not be written and name the newest that remains, not a final.pt that is not there.
  const size_t failures = CountOf(ReadFile(log), "failed (");
  FillDisk(dir.path() + "/disk/filler");
  while (CountOf(ReadFile(log), "failed (") == failures && common::Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  learner->Signal(SIGTERM);
  const auto status = learner->WaitFor(60);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1) << ReadFile(log);
  EXPECT_TRUE(actor->WaitFor(60));
  EXPECT_FALSE(fs::exists(run + "/checkpoints/final.pt"));
  const std::string text = ReadFile(log);
  const int newest = NewestCheckpoint(run);
  ASSERT_GT(newest, before) << text;
  const std::string remains = learner::CheckpointPath(run + "/checkpoints", newest);
  EXPECT_NE(text.find(") could not be written; the newest that remains is " + remains +
                      " (update " + std::to_string(newest) + ")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("rlrec-learner: the final checkpoint (update "), std::string::npos) << text;
  EXPECT_NE(text.find("the newest checkpoint that remains is " + remains + " (update " +
                      std::to_string(newest) + ")"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("final checkpoint " + run + "/checkpoints/final.pt"), std::string::npos)
      << text;
  // Every row that reached the file is whole.
  for (const auto& row : ReadLines(run + "/metrics.jsonl")) {
    EXPECT_TRUE(JsonNumber(row, "update").has_value()) << row;
  }
}

}  // namespace
}  // namespace rlrec::testing
