#include "actors/sim/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "actors/sim/baselines.h"
#include "common/base/error.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

TEST(ScoreSlateTest, MatchesHandComputedPrecisionRecallNdcgAndDiversity) {
  // Four candidates; gains 0.8, 0, 0.5, 0.2 (three relevant); topics 1, 1, 2, 3.
  const std::vector<double> gains = {0.8, 0.0, 0.5, 0.2};
  const std::vector<int> topics = {1, 1, 2, 3};
  const int32_t slate[] = {1, 2};  // one irrelevant, then one relevant
  SlateScores s = ScoreSlate(gains, topics, slate, 2);
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 1.0 / 3);
  // DCG = 0 / log2(2) + 0.5 / log2(3); ideal = 0.8 / 1 + 0.5 / log2(3).
  EXPECT_NEAR(s.ndcg, (0.5 / std::log2(3.0)) / (0.8 + 0.5 / std::log2(3.0)), 1e-12);
  EXPECT_DOUBLE_EQ(s.diversity, 1.0);

  const int32_t best[] = {0, 2};
  SlateScores b = ScoreSlate(gains, topics, best, 2);
  EXPECT_DOUBLE_EQ(b.precision, 1.0);
  EXPECT_DOUBLE_EQ(b.ndcg, 1.0);

  const int32_t same_topic[] = {0, 1, 3};
  EXPECT_DOUBLE_EQ(ScoreSlate(gains, topics, same_topic, 3).diversity, 2.0 / 3);
}

TEST(ScoreSlateTest, UndefinedFiguresAreNaNNotZero) {
  const std::vector<double> none = {0, 0, 0};
  const std::vector<int> topics = {0, 1, 2};
  const int32_t slate[] = {0};
  SlateScores s = ScoreSlate(none, topics, slate, 1);
  EXPECT_DOUBLE_EQ(s.precision, 0.0);
  EXPECT_TRUE(std::isnan(s.recall));
  EXPECT_TRUE(std::isnan(s.ndcg));
  EXPECT_TRUE(std::isnan(s.diversity)) << "one item has no pairs";
}

TEST(BaselinesTest, OraclesPickTheTopCandidatesByWhatTheyKnow) {
  InterestEvolutionOptions o;
  o.num_users = 50;
  InterestEvolutionSimulator sim(o);
  std::vector<int32_t> slates(50 * 2);
  TopScorePolicy myopic(TopScorePolicy::Score::kAttractiveness);
  myopic.Choose(sim, {}, 2, slates.data());
  TopScorePolicy quality(TopScorePolicy::Score::kQuality);
  std::vector<int32_t> by_quality(50 * 2);
  quality.Choose(sim, {}, 2, by_quality.data());
  for (int u = 0; u < 50; ++u) {
    const double first = sim.Attractiveness(u, slates[u * 2], 0);
    EXPECT_GE(first, sim.Attractiveness(u, slates[u * 2 + 1], 0));
    EXPECT_GE(sim.CandidateQuality(u, by_quality[u * 2]),
              sim.CandidateQuality(u, by_quality[u * 2 + 1]));
    for (int c = 0; c < 10; ++c) {
      if (c != slates[u * 2] && c != slates[u * 2 + 1]) {
        EXPECT_LE(sim.Attractiveness(u, c, 0), sim.Attractiveness(u, slates[u * 2 + 1], 0));
      }
      if (c != by_quality[u * 2] && c != by_quality[u * 2 + 1]) {
        EXPECT_LE(sim.CandidateQuality(u, c), sim.CandidateQuality(u, by_quality[u * 2 + 1]));
      }
    }
  }
}

TEST(BaselinesTest, RandomSlatesHoldDistinctCandidates) {
  InterestEvolutionOptions o;
  o.num_users = 200;
  InterestEvolutionSimulator sim(o);
  RandomPolicy random(7);
  std::vector<int32_t> slates(200 * 5);
  random.Choose(sim, {}, 5, slates.data());
  for (int u = 0; u < 200; ++u) {
    std::set<int32_t> distinct(slates.begin() + u * 5, slates.begin() + u * 5 + 5);
    EXPECT_EQ(distinct.size(), 5u);
  }
}

TEST(BaselinesTest, MostPopularNeedsAFixedCorpus) {
  InterestEvolutionOptions o;
  EXPECT_THROW(MakeBaseline("popular", o, 1), common::Error);
  o.corpus_size = 100;
  EXPECT_NE(MakeBaseline("popular", o, 1), nullptr);
  EXPECT_EQ(MakeBaseline("smartest", o, 1), nullptr);
}

TEST(EvaluateTest, HeldOutResultsDoNotDependOnTheBatchSize) {
  InterestEvolutionOptions o;
  TopScorePolicy quality(TopScorePolicy::Score::kQuality);
  EvalReport a = Evaluate(o, quality, 2, 60, /*seed=*/3, "oracle-quality", /*batch=*/60);
  EvalReport b = Evaluate(o, quality, 2, 60, 3, "oracle-quality", /*batch=*/7);
  // The same users see the same slates; only the order of summation differs.
  EXPECT_NEAR(a.mean_return, b.mean_return, 1e-9);
  EXPECT_NEAR(a.ndcg, b.ndcg, 1e-12);
  EXPECT_NEAR(a.click_through, b.click_through, 1e-12);
  EXPECT_GT(a.return_ci95, 0);
}

TEST(EvaluateTest, OracleQualityOutlastsRandomSlates) {
  InterestEvolutionOptions o;
  RandomPolicy random(1);
  TopScorePolicy quality(TopScorePolicy::Score::kQuality);
  EvalReport r = Evaluate(o, random, 2, 400, 1, "random");
  EvalReport q = Evaluate(o, quality, 2, 400, 1, "oracle-quality");
  // High-quality items give time back, so sessions last longer and earn more.
  EXPECT_GT(q.mean_return - q.return_ci95, r.mean_return + r.return_ci95);
  EXPECT_GT(q.mean_length, r.mean_length);
  EXPECT_NEAR(r.precision, 0.5, 0.05) << "random slates hit positive interest half the time";
}

TEST(EvalCommandTest, PrintsEveryFigureAsJsonAndRefusesUnknownPolicies) {
  using testing::RunCommand;
  auto r = RunCommand(
      {testing::BinDir() + "/rlrec", "eval", "--policy", "random", "--users", "50", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* key :
       {"mean_return", "return_ci95", "session_length", "click_through", "watch_time",
        "precision_at_k", "recall_at_k", "f1_at_k", "ndcg_at_k", "coverage", "diversity"}) {
    EXPECT_TRUE(testing::JsonNumber(r.output, key).has_value()) << key << ": " << r.output;
  }
  auto bad = RunCommand({testing::BinDir() + "/rlrec", "eval", "--policy", "smartest"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("unknown policy 'smartest'"), std::string::npos) << bad.output;
  auto popular = RunCommand({testing::BinDir() + "/rlrec", "eval", "--policy", "popular"});
  EXPECT_EQ(popular.exit_code, 2);
  EXPECT_NE(popular.output.find("needs a fixed corpus"), std::string::npos) << popular.output;
}

}  // namespace
}  // namespace rlrec::actors
