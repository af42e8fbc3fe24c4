// A run folder's layout, from its one table: paths, config.ini, the scripts' view of it.
#include "common/run/run_folder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/config/config.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

TEST(RunDirTest, EveryFileHasItsPlaceInTheRunFolder) {
  RunDir run("/runs/a");
  EXPECT_EQ(run.config(), "/runs/a/config.ini");
  EXPECT_EQ(run.metrics(), "/runs/a/metrics.jsonl");
  EXPECT_EQ(run.final_checkpoint(), "/runs/a/checkpoints/final.pt");
  EXPECT_EQ(run.control_endpoint(), "/runs/a/control.endpoint");
  EXPECT_EQ(run.actor_log(12), "/runs/a/logs/actor-12.log");
  EXPECT_EQ(run.run_id(), "a");
  std::set<std::string> paths, names;
  for (const auto& spec : kRunFiles) {
    EXPECT_TRUE(paths.insert(spec.path).second) << spec.path << " named twice";
    EXPECT_TRUE(names.insert(spec.shell_name).second) << spec.shell_name << " named twice";
  }
}

TEST(RunDirTest, ADatedFolderUnderRunsRootWhenTheRunHasNoName) {
  RunConfig config;
  config.run.runs_root = "/r";
  config.run.name = "mine";
  EXPECT_EQ(RunDir::ForConfig(config).path(), "/r/mine");
  config.run.name = "";
  const std::string dated = RunDir::ForConfig(config).path();
  EXPECT_EQ(dated.rfind("/r/run-", 0), 0u) << dated;
  EXPECT_EQ(dated.size(), std::string("/r/run-20261128-154501").size()) << dated;
}

TEST(RunDirTest, ConfigIsWrittenWholeAndReadsBackAsTheSameConfig) {
  testing::TempDir dir;
  RunDir run(dir.path() + "/new");
  EXPECT_FALSE(run.HoldsRun());
  RunConfig config;
  config.learner.discount = 0.5;
  config.model.user_encoder = UserEncoder::kGru;
  run.WriteConfig(config);
  EXPECT_FALSE(std::filesystem::exists(run.config() + ".tmp"));
  const std::string argv0 = "test";
  const std::string flag = "--config=" + run.config();
  const char* argv[] = {argv0.c_str(), flag.c_str()};
  auto parsed = ParseArgs(2, argv, "test", "");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(ConfigIni(parsed->config), ConfigIni(config));
  EXPECT_EQ(parsed->config.model.user_encoder, UserEncoder::kGru);
  std::ofstream(run.metrics()) << "{}\n";
  EXPECT_TRUE(run.HoldsRun());
}

TEST(RunDirTest, ACheckpointsRunConfigIsTwoFoldersUp) {
  EXPECT_EQ(RunDir::ConfigOfCheckpoint("/runs/a/checkpoints/final.pt"), "/runs/a/config.ini");
  EXPECT_EQ(RunDir::ConfigOfCheckpoint("final.pt"), "./config.ini");
}

TEST(RunDirTest, ScriptsGetEveryFileAsAShellAssignment) {
  const std::string layout = RunDirLayoutForShell();
  EXPECT_NE(layout.find("RLREC_RUN_CONTROL_ENDPOINT=control.endpoint\n"), std::string::npos);
  EXPECT_NE(layout.find("RLREC_RUN_FINAL_CHECKPOINT=checkpoints/final.pt\n"), std::string::npos);
  EXPECT_EQ(std::count(layout.begin(), layout.end(), '\n'), std::size(kRunFiles));
}

}  // namespace
}  // namespace rlrec::common
