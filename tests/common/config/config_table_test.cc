// The config table and what comes from it: defaults, range rules, choices, config.ini.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/base/error.h"
#include "common/config/config.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// Parses `flags` as a program's command line; nullopt for --help or --print-config.
std::optional<ParsedArgs> Parse(std::vector<std::string> flags) {
  flags.insert(flags.begin(), "test");
  std::vector<const char*> argv;
  for (const auto& f : flags) argv.push_back(f.c_str());
  return ParseArgs(static_cast<int>(argv.size()), argv.data(), "test", "");
}

std::string ErrorOf(std::vector<std::string> flags) {
  try {
    Parse(std::move(flags));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

// A program's own options store into its variables; given() tells an option on the command
// line from one left at its default; a malformed value is a clear error.
TEST(ProgramOptionsTest, OwnOptionsStoreIntoTheirVariablesAndSayWhichWereGiven) {
  int users = 1000;
  uint64_t seed = 1;
  std::string policy;
  bool json = false;
  ProgramOptions own("Own options");
  own.Add("users", &users, "users", /*show_default=*/true)
      .Add("seed", &seed, "seed", /*show_default=*/true)
      .Add("policy", &policy, "policy")
      .Flag("json", &json, "json");
  const char* argv[] = {"test", "--users", "5", "--policy", "random", "--json"};
  ASSERT_TRUE(ParseArgs(6, argv, "test", "", own));
  EXPECT_EQ(users, 5);
  EXPECT_EQ(seed, 1u) << "a default stays";
  EXPECT_EQ(policy, "random");
  EXPECT_TRUE(json);
  EXPECT_TRUE(own.given("users"));
  EXPECT_FALSE(own.given("seed"));

  int count = 0;
  ProgramOptions bad;
  bad.Add("count", &count, "count");
  const char* malformed[] = {"test", "--count", "many"};
  try {
    ParseArgs(3, malformed, "test", "", bad);
    ADD_FAILURE() << "a malformed value was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("count"), std::string::npos) << e.what();
  }
}

TEST(ConfigTableTest, DefaultsComeFromTheTable) {
  auto parsed = Parse({});
  ASSERT_TRUE(parsed);
  const RunConfig& c = parsed->config;
  EXPECT_EQ(c.learner.batch_trajectories, 4);
  EXPECT_EQ(c.learner.objective, Objective::kVTrace);
  EXPECT_EQ(c.model.user_encoder, UserEncoder::kPooled);
  EXPECT_EQ(c.sim.choice, ChoiceModel::kProportional);
  EXPECT_EQ(c.transport.host, "127.0.0.1");
  EXPECT_EQ(ConfigIni(c), ConfigIni(RunConfig()));
}

TEST(ConfigTableTest, ChoicesParseToTheirEnumAndAWrongOneListsTheChoices) {
  auto parsed = Parse({"--learner.objective=topk_reinforce", "--sim.choice=mnl",
                       "--model.user_encoder=gru", "--learner.device=cuda"});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->config.learner.objective, Objective::kTopKReinforce);
  EXPECT_EQ(parsed->config.sim.choice, ChoiceModel::kMultinomialLogit);
  EXPECT_EQ(parsed->config.model.user_encoder, UserEncoder::kGru);
  EXPECT_EQ(parsed->config.learner.device, Device::kCuda);
  EXPECT_EQ(ErrorOf({"--learner.objective=ppo"}),
            "value 'ppo' of 'learner.objective' is not one of the choices: vtrace, "
            "topk_reinforce, pg (command line or default)");
}

TEST(ConfigTableTest, RangesAreCheckedWithTheRuleInTheMessage) {
  EXPECT_NE(ErrorOf({"--model.epsilon=1"})
                .find("value 1 of 'model.epsilon' is out of range: "
                      "must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--learner.publish_every=0"}).find("must be in [1, 1e+06]"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sim.time_budget=0"}).find("must be in (0, 1e+06]"), std::string::npos);
  RunConfig no_host;
  no_host.transport.host = "";
  try {
    ValidateConfig(no_host);
    ADD_FAILURE() << "an empty transport.host passed";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "value '' of 'transport.host' is out of range: must not be empty");
  }
  EXPECT_NE(ErrorOf({"--run.name=a/b"}).find("must be a plain name"), std::string::npos);
  EXPECT_NE(ErrorOf({"--run.name=.."}).find("must be a plain name"), std::string::npos);
  EXPECT_EQ(ErrorOf({"--run.name=sweep-3_lr=0.001"}), "");
  EXPECT_EQ(ErrorOf({"--learner.bucket_mib=4096"}), "");
}

TEST(ConfigTableTest, CrossKeyRulesNameTheKeyTheyBlame) {
  EXPECT_NE(ErrorOf({"--sim.corpus_size=5", "--sim.candidates=10"})
                .find("'sim.corpus_size' is out of range: must be 0 (fresh documents) or in "
                      "[sim.candidates, 2^30]"),
            std::string::npos);
  EXPECT_NE(ErrorOf({"--sim.item_lifetime=5"}).find("needs a fixed corpus"), std::string::npos);
  EXPECT_NE(ErrorOf({"--run.budget_seconds=0"}).find("a run needs a budget"), std::string::npos);
  ValidateConfig(RunConfig());  // the defaults keep every rule
  RunConfig bad;
  bad.sim.slate_size = 11;
  EXPECT_THROW(ValidateConfig(bad), Error);
}

TEST(ConfigTableTest, ConfigIniListsEveryKeyBySectionAndReadsBack) {
  RunConfig config;
  config.learner.learning_rate = 3e-4;
  config.sim.choice = ChoiceModel::kMultinomialLogit;
  config.run.name = "x";
  const std::string ini = ConfigIni(config);
  EXPECT_NE(ini.find("\n[learner]\ndevice = cpu\nbatch_trajectories = 4\nlearning_rate = 0.0003\n"),
            std::string::npos)
      << ini;
  EXPECT_NE(ini.find("choice = mnl\n"), std::string::npos);
  EXPECT_EQ(ini.find("model = interest_evolution"), std::string::npos) << "a retired key";
  std::istringstream lines(ini);
  int keys = 0;
  for (std::string line; std::getline(lines, line);) keys += line.find(" = ") != std::string::npos;
  int table = 0;
#define RLREC_COUNT_KEY(...) ++table;
#define RLREC_COUNT_SECTION(section, Type, KEYS) KEYS(RLREC_COUNT_KEY)
  RLREC_CONFIG_SECTIONS(RLREC_COUNT_SECTION)
#undef RLREC_COUNT_SECTION
#undef RLREC_COUNT_KEY
  EXPECT_EQ(keys, table);
}

TEST(ConfigTableTest, AFileOfAnOlderRunThatSetsARetiredKeyStillLoads) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/config.ini";
  std::ofstream(path) << "[sim]\nmodel = interest_evolution\ncandidates = 12\n";
  auto parsed = Parse({"--config", path});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->config.sim.candidates, 12);
  EXPECT_EQ(ConfigIni(parsed->config).find("model ="), std::string::npos);
  EXPECT_NE(ErrorOf({"--sim.modle=x"}), "") << "an unknown key is still refused";
}

}  // namespace
}  // namespace rlrec::common
