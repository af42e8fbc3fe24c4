// Configuration errors, seen as a user sees them: each program run with a bad file or flag
// stops before any work with a one-line error naming the key or file, and exit code 2.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_util.h"

namespace rlrec::testing {
namespace {

class ConfigErrorTest : public ::testing::TestWithParam<std::vector<std::string>> {
 protected:
  // The program (with its subcommand), then `args`.
  CommandResult Run(std::vector<std::string> args) {
    std::vector<std::string> argv = GetParam();
    argv[0] = BinDir() + "/" + argv[0];
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 30);
  }
  std::string WriteConfig(const std::string& text) {
    std::string path = dir_.path() + "/c.ini";
    std::ofstream(path) << text;
    return path;
  }
  static void ExpectOneLineError(const CommandResult& r, const std::string& words) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("error: " + words), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  TempDir dir_;
};

TEST_P(ConfigErrorTest, UnknownKeyInFileNamesTheKeyFileAndLine) {
  std::string path = WriteConfig("[run]\nseed = 3\n\n[learner]\nbach_size = 4\n");
  ExpectOneLineError(Run({"--config", path}),
                     "unknown key 'learner.bach_size' in config file '" + path + "' (line 5)");
}

TEST_P(ConfigErrorTest, UnknownCommandLineOptionIsNamed) {
  ExpectOneLineError(Run({"--learner.bach_size=4"}),
                     "unknown option '--learner.bach_size=4' on the command line");
}

TEST_P(ConfigErrorTest, MalformedValueNamesTheKeyAndLine) {
  std::string path = WriteConfig("[learner]\nbatch_trajectories = four\n");
  ExpectOneLineError(Run({"--config", path}),
                     "malformed value for key 'learner.batch_trajectories' in config file '" +
                         path + "' (line 2)");
}

TEST_P(ConfigErrorTest, OutOfRangeValueNamesTheKeyAndTheRule) {
  std::string path = WriteConfig("[sim]\ncandidates = 10\nslate_size = 11\n");
  ExpectOneLineError(Run({"--config", path}),
                     "value 11 of 'sim.slate_size' is out of range: must be in [1, "
                     "sim.candidates] (config file '" +
                         path + "' (line 3))");
}

TEST_P(ConfigErrorTest, OutOfRangeValueOnTheCommandLineSaysSo) {
  ExpectOneLineError(Run({"--learner.discount=1.5"}),
                     "value 1.5 of 'learner.discount' is out of range: must be in [0, 1] "
                     "(command line");
}

TEST_P(ConfigErrorTest, MissingFileIsNamed) {
  ExpectOneLineError(
      Run({"--config", dir_.path() + "/nope.ini"}),
      "cannot read config file '" + dir_.path() + "/nope.ini': No such file or directory");
}

TEST_P(ConfigErrorTest, AConfigThatIsNotARegularFileIsRefused) {
  ExpectOneLineError(Run({"--config", dir_.path()}),
                     "config file '" + dir_.path() + "' is not a regular file");
  ExpectOneLineError(Run({"--config", "/dev/zero"}),
                     "config file '/dev/zero' is not a regular file");
}

TEST_P(ConfigErrorTest, ARunNameThatIsNotAPlainNameIsRefused) {
  for (const std::string name : {"..", "a/b", ".hidden", "tab\tname"}) {
    const CommandResult r = Run({"--run.name=" + name});
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.output;
    EXPECT_NE(r.output.find("of 'run.name' is out of range: must be a plain name"),
              std::string::npos)
        << r.output;
  }
}

TEST_P(ConfigErrorTest, TimeoutsSizesAndCountsHaveUpperBounds) {
  ExpectOneLineError(Run({"--transport.request_timeout_s=1e10"}),
                     "value 1e+10 of 'transport.request_timeout_s' is out of range: must be in "
                     "(0, 3600]");
  ExpectOneLineError(Run({"--learner.collective_timeout_s=1e9"}),
                     "value 1e+09 of 'learner.collective_timeout_s' is out of range");
  ExpectOneLineError(Run({"--transport.receive_hwm=100000000"}),
                     "value 100000000 of 'transport.receive_hwm' is out of range");
}

TEST_P(ConfigErrorTest, HelpListsEveryKeyWithItsDefaultAndMeaning) {
  CommandResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* line :
       {"--learner.batch_trajectories arg (=4)", "trajectories per update",
        "--actor.unroll arg (=20)", "--transport.send_hwm arg (=1)", "--config arg"}) {
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  }
}

TEST_P(ConfigErrorTest, HeadsThatDoNotDivideTheWidthAreRefused) {
  ExpectOneLineError(Run({"--model.hidden=64", "--model.heads=6"}),
                     "value 6 of 'model.heads' is out of range: must divide model.hidden");
}

TEST_P(ConfigErrorTest, Bf16OnACpuLearnerIsRefused) {
  ExpectOneLineError(Run({"--learner.precision=bf16"}),
                     "value bf16 of 'learner.precision' is out of range: bf16 needs "
                     "learner.device = cuda");
}

TEST_P(ConfigErrorTest, CommandLineWinsOverTheFile) {
  std::string path = WriteConfig("[learner]\nbatch_trajectories = 8\npublish_every = 3\n");
  CommandResult r = Run({"--config", path, "--learner.batch_trajectories=16", "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("batch_trajectories = 16\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("publish_every = 3\n"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(EveryProgram, ConfigErrorTest,
                         ::testing::Values(std::vector<std::string>{"rlrec-learner"},
                                           std::vector<std::string>{"rlrec-actor"},
                                           std::vector<std::string>{"rlrec", "train"}),
                         [](const auto& info) {
                           return info.param.size() == 1 ? info.param[0].substr(6) : "train";
                         });

TEST(LauncherTest, UnknownCommandIsRefused) {
  CommandResult r = RunCommand({BinDir() + "/rlrec", "trian"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("rlrec: error: unknown command 'trian'"), std::string::npos) << r.output;
}

TEST(LauncherTest, PlotRefusesAFolderWithoutMetrics) {
  TempDir dir;
  CommandResult r = RunCommand({BinDir() + "/rlrec", "plot", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no metrics.jsonl in run folder"), std::string::npos) << r.output;
}

TEST(LauncherTest, KeyValueOverridesReachTheConfiguration) {
  CommandResult r =
      RunCommand({BinDir() + "/rlrec", "train", "--config", SourceDir() + "/configs/local.ini",
                  "learner.discount=0.5", "--print-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("discount = 0.5\n"), std::string::npos) << r.output;
}

// Every preset in configs/ loads, passes every rule, and says back what it sets.
TEST(LauncherTest, EveryPresetLoadsAndPassesEveryRule) {
  for (const auto& [preset, expected] :
       std::vector<std::pair<std::string, std::string>>{{"local", "user_encoder = pooled\n"},
                                                        {"large", "item_buckets = 10000000\n"},
                                                        {"xl", "item_buckets = 20000000\n"},
                                                        {"deep", "user_encoder = transformer\n"}}) {
    CommandResult r = RunCommand({BinDir() + "/rlrec-learner", "--config",
                                  SourceDir() + "/configs/" + preset + ".ini", "--print-config"});
    EXPECT_EQ(r.exit_code, 0) << preset << ": " << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << preset << ": " << r.output;
  }
  CommandResult deep = RunCommand({BinDir() + "/rlrec-learner", "--config",
                                   SourceDir() + "/configs/deep.ini", "--print-config"});
  for (const char* line : {"layers = 4\n", "heads = 8\n", "hidden = 512\n",
                           "history_length = 200\n", "ffn = 2048\n"}) {
    EXPECT_NE(deep.output.find(line), std::string::npos) << line << deep.output;
  }
}

}  // namespace
}  // namespace rlrec::testing
