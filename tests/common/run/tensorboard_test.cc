#include "common/run/tensorboard.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/run/tensorboard_event.pb.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

uint64_t LittleEndian(const std::string& bytes, size_t at, int n) {
  uint64_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// The events of an event file, each record's framing and CRCs checked.
std::vector<tensorboard::Event> ReadEvents(const std::string& path) {
  const std::string bytes = testing::ReadFile(path);
  std::vector<tensorboard::Event> events;
  size_t at = 0;
  while (at < bytes.size()) {
    EXPECT_LE(at + 12, bytes.size()) << "a torn header";
    const uint64_t length = LittleEndian(bytes, at, 8);
    EXPECT_EQ(LittleEndian(bytes, at + 8, 4), MaskedCrc32c(bytes.data() + at, 8));
    EXPECT_LE(at + 12 + length + 4, bytes.size()) << "a torn record";
    const std::string payload = bytes.substr(at + 12, length);
    EXPECT_EQ(LittleEndian(bytes, at + 12 + length, 4), MaskedCrc32c(payload.data(), length));
    tensorboard::Event event;
    EXPECT_TRUE(event.ParseFromString(payload));
    events.push_back(event);
    at += 12 + length + 4;
  }
  return events;
}

TEST(TensorBoardTest, Crc32cIsTheCastagnoliChecksumAndMaskingRotatesAndOffsetsIt) {
  const char* check = "123456789";  // the standard check input
  EXPECT_EQ(Crc32c(check, 9), 0xe3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  const uint32_t crc = Crc32c(check, 9);
  EXPECT_EQ(MaskedCrc32c(check, 9), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(TensorBoardTest, ARecordIsLengthItsCrcPayloadAndThePayloadsCrc) {
  const std::string record = FrameRecord("hello");
  ASSERT_EQ(record.size(), 8u + 4 + 5 + 4);
  EXPECT_EQ(LittleEndian(record, 0, 8), 5u);
  EXPECT_EQ(LittleEndian(record, 8, 4), MaskedCrc32c(record.data(), 8));
  EXPECT_EQ(record.substr(12, 5), "hello");
  EXPECT_EQ(LittleEndian(record, 17, 4), MaskedCrc32c("hello", 5));
}

TEST(TensorBoardTest, FieldsAreGroupedAndTheStepAndFlagsAreNotPlotted) {
  EXPECT_EQ(TensorBoardTag("policy_loss"), "train/policy_loss");
  EXPECT_EQ(TensorBoardTag("env_steps_per_s"), "throughput/env_steps_per_s");
  EXPECT_EQ(TensorBoardTag("policy_lag_mean"), "lag/policy_lag_mean");
  EXPECT_EQ(TensorBoardTag("actor_send_blocked_share"), "actors/actor_send_blocked_share");
  EXPECT_EQ(TensorBoardTag("actors_lost"), "actors/actors_lost");
  EXPECT_EQ(TensorBoardTag("learner_wait_share"), "learner/learner_wait_share");
  EXPECT_EQ(TensorBoardTag("decode_errors"), "errors/decode_errors");
  EXPECT_EQ(TensorBoardTag("something_new"), "run/something_new");
  EXPECT_EQ(TensorBoardTag("update"), "");
  EXPECT_EQ(TensorBoardTag("final"), "");
  EXPECT_EQ(TensorBoardTag("wall_time"), "");
}

TEST(TensorBoardTest, AMetricsLineBecomesAStepWithItsNumbersAndNullsAsNaN) {
  const ScalarRow row = ScalarRowOfJson(
      R"({"time_s":2.5,"update":40,"entropy":null,"why":"a \"text\", skipped","wall_time":1700000000.25,"final":0})");
  EXPECT_EQ(row.step, 40);
  EXPECT_EQ(row.wall_time, 1700000000.25);
  ASSERT_EQ(row.values.size(), 5u);
  EXPECT_EQ(row.values[0], std::make_pair(std::string("time_s"), 2.5));
  EXPECT_EQ(row.values[2].first, "entropy");
  EXPECT_TRUE(std::isnan(row.values[2].second));
  EXPECT_THROW(ScalarRowOfJson("not json"), Error);
  EXPECT_THROW(ScalarRowOfJson(R"({"update":)"), Error);
}

TEST(TensorBoardTest, AResumedSegmentSupersedesTheRowsPastItsCheckpoint) {
  // Rows at 5..30, a crash, a resume from the checkpoint of update 20 whose rows restart at 25.
  std::vector<std::string> lines;
  for (int u : {5, 10, 15, 20, 25, 30, 25, 30, 35, 35}) {
    lines.push_back(R"({"update":)" + std::to_string(u) + R"(,"x":)" + std::to_string(u) + "}");
  }
  lines.push_back("{torn");
  std::vector<int64_t> steps;
  for (const auto& row : SurvivingRows(lines, -1)) steps.push_back(row.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{5, 10, 15, 20, 25, 30, 35}));
  // What a learner resuming from update 20 keeps before its own rows.
  steps.clear();
  for (const auto& row : SurvivingRows(lines, 20)) steps.push_back(row.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{5, 10, 15, 20}));
}

TEST(TensorBoardTest, TheWriterFramesEveryEventAndAHistoryReplacesOlderFiles) {
  testing::TempDir dir;
  const std::string tb = dir.path() + "/tb";
  std::string first_path;
  {
    TensorBoardWriter writer(tb);
    first_path = writer.path();
    JsonObject row;
    row.Add("update", uint64_t{7}).Add("policy_loss", 0.123456789).Add("entropy", std::nan(""));
    row.AddFixed("wall_time", 1.7e9 + 0.125, 3).Add("final", 0);
    writer.Write(ScalarRowOf(row));
    writer.Write(ScalarRowOf(row));  // the same step again: skipped
  }
  auto events = ReadEvents(first_path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].step(), 7);
  EXPECT_EQ(events[1].wall_time(), 1.7e9 + 0.125);
  ASSERT_EQ(events[1].summary().value_size(), 1) << "NaN and unplotted fields are left out";
  EXPECT_EQ(events[1].summary().value(0).tag(), "train/policy_loss");
  // The value as metrics.jsonl has it (6 significant digits), as a float.
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 0.123457f);

  ScalarRow earlier;
  earlier.step = 3;
  earlier.values = {{"mean_return", 42}};
  std::string second_path;
  {
    TensorBoardWriter resumed(tb, {earlier});
    second_path = resumed.path();
  }
  EXPECT_FALSE(std::filesystem::exists(first_path)) << "the older file was replaced";
  events = ReadEvents(second_path);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].step(), 3);
  EXPECT_EQ(events[1].summary().value(0).tag(), "train/mean_return");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 42.f);
}

TEST(TensorBoardTest, AFolderThatCannotBeMadeIsAClearError) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/file";
  { std::ofstream(file) << "x"; }
  try {
    TensorBoardWriter writer(file + "/tb");
    FAIL() << "wrote under a file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot make TensorBoard folder"), std::string::npos);
  }
}

}  // namespace
}  // namespace rlrec::common
