// When the lead checkpoints: by updates, by minutes, keeping the newest few, final.pt.
#include "learner/checkpoint_schedule.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/base/error.h"
#include "learner/train/checkpoint.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

using common::Clock;

common::RunConfig::Run Every(uint64_t updates, double minutes, int keep = 3) {
  common::RunConfig::Run run;
  run.checkpoint_every = updates;
  run.checkpoint_minutes = minutes;
  run.keep_checkpoints = keep;
  return run;
}

// A stand-in checkpoint writer that counts its calls (the file format has tests of its own).
struct Writer {
  int writes = 0;
  std::function<void(const std::string&)> Save() {
    return [this](const std::string& path) {
      ++writes;
      std::ofstream(path) << "checkpoint " << writes;
    };
  }
};

TEST(CheckpointScheduleTest, DueEveryNUpdatesAndEveryMMinutesIndependently) {
  testing::TempDir dir;
  const auto t0 = Clock::now();
  CheckpointSchedule by_updates(Every(100, 0), common::RunDir(dir.path()), std::nullopt, t0);
  EXPECT_FALSE(by_updates.Due(99, t0 + std::chrono::hours(5)));
  EXPECT_TRUE(by_updates.Due(200, t0));
  CheckpointSchedule by_time(Every(0, 2), common::RunDir(dir.path()), std::nullopt, t0);
  EXPECT_FALSE(by_time.Due(100, t0 + std::chrono::seconds(119)));
  EXPECT_TRUE(by_time.Due(7, t0 + std::chrono::seconds(120)));
  // Saving restarts the minute clock.
  std::filesystem::create_directories(dir.path() + "/checkpoints");
  Writer writer;
  by_time.Save(7, writer.Save(), t0 + std::chrono::seconds(120));
  EXPECT_FALSE(by_time.Due(8, t0 + std::chrono::seconds(200)));
  EXPECT_TRUE(by_time.Due(8, t0 + std::chrono::seconds(240)));
}

TEST(CheckpointScheduleTest, SavesEachUpdateOnceAndKeepsTheNewest) {
  testing::TempDir dir;
  const common::RunDir run(dir.path());
  std::filesystem::create_directories(run.checkpoints());
  CheckpointSchedule schedule(Every(1, 0, /*keep=*/2), run, std::nullopt);
  Writer writer;
  for (uint64_t update : {1, 2, 3}) schedule.Save(update, writer.Save());
  EXPECT_EQ(writer.writes, 3);
  const std::string path = schedule.Save(3, writer.Save());  // the end of the run, right after
  EXPECT_EQ(writer.writes, 3);
  EXPECT_EQ(path, CheckpointPath(run.checkpoints(), 3));
  auto kept = ListCheckpoints(run.checkpoints());
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0], CheckpointPath(run.checkpoints(), 3));
  EXPECT_EQ(kept[1], CheckpointPath(run.checkpoints(), 2));
  // A file that went missing is written again.
  std::filesystem::remove(path);
  schedule.Save(3, writer.Save());
  EXPECT_EQ(writer.writes, 4);
}

TEST(CheckpointScheduleTest, AResumedRunDoesNotRewriteTheCheckpointItResumedFrom) {
  testing::TempDir dir;
  const common::RunDir run(dir.path());
  std::filesystem::create_directories(run.checkpoints());
  std::ofstream(CheckpointPath(run.checkpoints(), 40)) << "resumed from";
  CheckpointSchedule schedule(Every(1000, 10), run, /*saved_at=*/40);
  Writer writer;
  schedule.Save(40, writer.Save());
  EXPECT_EQ(writer.writes, 0);
  EXPECT_EQ(testing::ReadFile(CheckpointPath(run.checkpoints(), 40)), "resumed from");
}

TEST(CheckpointScheduleTest, FinalNamesTheLastCheckpointAndReplacesAnEarlierFinal) {
  testing::TempDir dir;
  const common::RunDir run(dir.path());
  std::filesystem::create_directories(run.checkpoints());
  CheckpointSchedule schedule(Every(1, 0), run, std::nullopt);
  Writer writer;
  schedule.MarkFinal(schedule.Save(1, writer.Save()));
  EXPECT_EQ(testing::ReadFile(run.final_checkpoint()), "checkpoint 1");
  schedule.MarkFinal(schedule.Save(2, writer.Save()));
  EXPECT_EQ(testing::ReadFile(run.final_checkpoint()), "checkpoint 2");
  EXPECT_FALSE(std::filesystem::exists(run.final_checkpoint() + ".tmp"));
  // final.pt is not one of the numbered checkpoints that keep-N prunes.
  EXPECT_EQ(ListCheckpoints(run.checkpoints()).size(), 2u);
}

TEST(CheckpointScheduleTest, AFailedCheckpointIsCountedKeepsThePreviousAndIsRetriedNextInterval) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/checkpoints");
  const auto t0 = Clock::now();
  CheckpointSchedule schedule(Every(10, 2), common::RunDir(dir.path()), std::nullopt, t0);
  Writer writer;
  const auto first = schedule.TrySave(10, writer.Save(), t0);
  ASSERT_TRUE(first.has_value());
  const auto failing = [](const std::string& path) {
    throw common::Unavailable("cannot write '" + path + ".tmp': No space left on device");
  };
  EXPECT_FALSE(schedule.TrySave(20, failing, t0 + std::chrono::seconds(30)).has_value());
  EXPECT_EQ(schedule.failed(), 1u);
  EXPECT_TRUE(std::filesystem::exists(*first));
  // Not due again at once: at the next interval, by updates or by minutes.
  EXPECT_FALSE(schedule.Due(21, t0 + std::chrono::seconds(31)));
  EXPECT_TRUE(schedule.Due(30, t0 + std::chrono::seconds(31)));
  EXPECT_TRUE(schedule.Due(21, t0 + std::chrono::seconds(150)));
  EXPECT_TRUE(schedule.TrySave(30, writer.Save(), t0 + std::chrono::seconds(40)).has_value());
  EXPECT_EQ(schedule.failed(), 1u);
}

// Background checkpoints: the child writes the memory as it was at the fork, while this
// process changes it; the schedule learns the outcome when it polls.
TEST(CheckpointScheduleTest, ABackgroundCheckpointWritesTheStateAsItWasAtTheFork) {
  testing::TempDir dir;
  const common::RunDir run(dir.path());
  std::filesystem::create_directories(run.checkpoints());
  CheckpointSchedule schedule(Every(1, 0, /*keep=*/2), run, std::nullopt);
  std::vector<int64_t> state(1 << 20, 1);
  const auto save = [&](const std::string& path) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the parent moves on meanwhile
    int64_t sum = 0;
    for (int64_t v : state) sum += v;
    std::ofstream(path) << sum;
  };
  ASSERT_TRUE(schedule.StartSave(1, save));
  std::fill(state.begin(), state.end(), 2);  // training goes on
  schedule.Finish();
  EXPECT_EQ(testing::ReadFile(CheckpointPath(run.checkpoints(), 1)), std::to_string(1 << 20));
  EXPECT_GT(schedule.last_pause_s(), 0);
  EXPECT_LT(schedule.last_pause_s(), 0.3) << "the pause is the fork, not the write";
  EXPECT_EQ(schedule.failed(), 0u);
  // Polling reaps the next one without waiting; saved checkpoints are pruned as before.
  ASSERT_TRUE(schedule.StartSave(2, save));
  ASSERT_TRUE(schedule.StartSave(3, save));  // waits for update 2's first
  for (int i = 0; i < 500 && !std::filesystem::exists(CheckpointPath(run.checkpoints(), 3)); ++i) {
    schedule.Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  schedule.Finish();
  EXPECT_EQ(ListCheckpoints(run.checkpoints()).size(), 2u);
  EXPECT_EQ(testing::ReadFile(CheckpointPath(run.checkpoints(), 3)), std::to_string(2 << 20));
}

TEST(CheckpointScheduleTest, ABackgroundCheckpointThatFailsIsCountedAndThePreviousStays) {
  testing::TempDir dir;
  const common::RunDir run(dir.path());
  std::filesystem::create_directories(run.checkpoints());
  CheckpointSchedule schedule(Every(1, 0), run, std::nullopt);
  Writer writer;
  schedule.Save(1, writer.Save());
  ASSERT_TRUE(schedule.StartSave(2, [](const std::string& path) {
    throw common::Unavailable("no space left writing " + path);
  }));
  schedule.Finish();
  EXPECT_EQ(schedule.failed(), 1u);
  EXPECT_EQ(ListCheckpoints(run.checkpoints()).size(), 1u) << "the previous checkpoint stays";
  // A final checkpoint after it is written as usual.
  EXPECT_EQ(schedule.Save(2, writer.Save()), CheckpointPath(run.checkpoints(), 2));
}

}  // namespace
}  // namespace rlrec::learner
