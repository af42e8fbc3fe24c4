// What a learner refuses before any of it reaches a tensor: ids outside their tables,
// non-finite or absurd floats, flags other than 0/1, repeated slate entries, wrong shapes.
#include "common/wire/trajectory_checks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "common/base/error.h"
#include "common/wire/trajectory_codec.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// The message CheckTrajectory throws for a test trajectory after `corrupt` changed it.
std::string RefusalOf(const std::function<void(Trajectory&)>& corrupt,
                      TrajectoryContract contract = testing::TestContract()) {
  Trajectory t = testing::MakeTestTrajectory(2, 3, 4, 6, 2);
  corrupt(t);
  try {
    CheckTrajectory(t, contract);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "accepted";
}

template <typename T>
T* Mutable(const TensorView& view) {
  return static_cast<T*>(const_cast<void*>(view.data));
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(TrajectoryChecksTest, AcceptsWhatAnActorSends) {
  EXPECT_EQ(RefusalOf([](Trajectory&) {}), "accepted");
}

TEST(TrajectoryChecksTest, RefusesIdsAndTopicsOutsideTheirTables) {
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<int32_t>(t.steps.history_topics)[5] = 4;
            }).find("history_topics[5] is 4"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<int32_t>(t.bootstrap.history_topics)[0] = -2;
            }).find("bootstrap.history_topics[0] is -2"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<int64_t>(t.steps.candidate_items)[1] = -7;
            }).find("candidate_items[1] is -7"),
            std::string::npos);
  TrajectoryContract corpus = testing::TestContract();
  corpus.item_id_limit = 1000;
  EXPECT_EQ(RefusalOf([](Trajectory&) {}, corpus), "accepted");
  EXPECT_NE(
      RefusalOf([](Trajectory& t) { Mutable<int64_t>(t.steps.history_items)[2] = 1000; }, corpus)
          .find("history_items[2] is 1000"),
      std::string::npos);
}

TEST(TrajectoryChecksTest, RefusesNonFiniteAndOutOfBoundFloats) {
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.rewards)[3] = kNaN;
            }).find("rewards[3] is nan"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.behaviour_log_probs)[0] = kNaN;
            }).find("behaviour_log_probs[0]"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.behaviour_log_probs)[1] = 0.5f;
            }).find("behaviour_log_probs[1] is 0.5"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.steps.features)[17] = 1e30f;
            }).find("features[17]"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.bootstrap.features)[0] = -kInf;
            }).find("bootstrap.features[0] is -inf"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<float>(t.steps.history_responses)[0] = -1;
            }).find("history_responses[0] is -1"),
            std::string::npos);
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              t.episode_returns[1] = kInf;
            }).find("episode_returns[1] is inf"),
            std::string::npos);
}

TEST(TrajectoryChecksTest, RefusesDoneFlagsOtherThanZeroOrOne) {
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<uint8_t>(t.dones)[4] = 2;
            }).find("dones[4] is 2, expected 0 or 1"),
            std::string::npos);
}

TEST(TrajectoryChecksTest, RefusesASlateThatRepeatsACandidate) {
  // Slate 1 is entries 2 and 3.
  EXPECT_NE(RefusalOf([](Trajectory& t) {
              Mutable<int32_t>(t.slates)[3] = Mutable<int32_t>(t.slates)[2];
            }).find("slates[3]"),
            std::string::npos);
}

TEST(TrajectoryChecksTest, RefusesTheWrongShapeOrTooManyUsers) {
  EXPECT_NE(RefusalOf([](Trajectory&) {}, testing::TestContract(/*T=*/3)).find("T=2"),
            std::string::npos);
  TrajectoryContract few_users = testing::TestContract();
  few_users.users = 2;
  EXPECT_NE(RefusalOf([](Trajectory&) {}, few_users).find("3 users"), std::string::npos);
}

TEST(TrajectoryChecksTest, ContractFollowsTheCorpus) {
  RunConfig config;
  config.sim.corpus_size = 0;
  EXPECT_EQ(TrajectoryContractOf(config).item_id_limit, 0);
  config.sim.corpus_size = 500;
  EXPECT_EQ(TrajectoryContractOf(config).item_id_limit, 500);
  config.sim.item_lifetime = 10;  // ids grow with item generations
  EXPECT_EQ(TrajectoryContractOf(config).item_id_limit, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(TrajectoryContractOf(config).topics, config.sim.topics);
}

TEST(TrajectoryChecksTest, AnEncodedTrajectoryFitsItsMessageLimit) {
  const TrajectoryContract contract = testing::TestContract();
  const OutgoingMessage message = EncodeTrajectory(testing::MakeTestTrajectory(2, 3, 4, 6, 2));
  EXPECT_LE(message.frames.size(), kMaxTrajectoryFrames);
  TrajectoryContract three_users = contract;
  three_users.users = 3;
  EXPECT_LE(message.total_bytes(), MaxTrajectoryMessageBytes(three_users));
  // The limit grows with the users a trajectory may carry.
  EXPECT_LT(MaxTrajectoryMessageBytes(three_users), MaxTrajectoryMessageBytes(contract));
}

// The run of MakeTestTrajectory(2, 3, 4, 6, 2): T 2, C 4, 2 topics (F 6), K 2, H 4, fresh
// documents, the default session budget of 200.
RunConfig SmallRun() {
  RunConfig config;
  config.actor.unroll = 2;
  config.sim.users_per_actor = 3;
  config.sim.candidates = 4;
  config.sim.topics = 4;  // the test trajectory's topics lie in [-1, 4)
  config.sim.slate_size = 2;
  config.sim.history_length = 4;
  return config;
}

// A test trajectory of SmallRun() whose values the world could produce, then `corrupt`ed.
std::string WorldRefusalOf(const std::function<void(Trajectory&)>& corrupt) {
  RunConfig config = SmallRun();
  config.sim.topics = 2;  // F = 6
  TrajectoryContract contract = TrajectoryContractOf(config);
  contract.topics = 4;
  return RefusalOf(
      [&](Trajectory& t) {
        testing::UseFreshDocuments(t);
        testing::KeepWithinWorld(t);
        corrupt(t);
      },
      contract);
}

TEST(TrajectoryChecksTest, AConfigsContractBoundsValuesByWhatItsWorldCanProduce) {
  RunConfig config = SmallRun();
  const TrajectoryContract c = TrajectoryContractOf(config);
  // A step pays at most one document's length (4); a session at most its budget over the
  // least share a click costs, 1 - (0.9 / 3.4) x 3.5, plus one step: 2,724; 1% slack.
  EXPECT_FLOAT_EQ(c.reward.high, 4 * 1.01f + 0.001f);
  EXPECT_NEAR(c.episode_return.high, 2724 * 1.01 + 0.001, 0.01);
  EXPECT_FLOAT_EQ(c.episode_return.low, -0.001f);
  ASSERT_EQ(c.user_row.size(), 10u);
  EXPECT_FLOAT_EQ(c.user_row[0].high, 10 * 1.01f + 0.001f);      // decayed clicks
  EXPECT_FLOAT_EQ(c.user_row[4].high, 2 * 10 * 1.01f + 0.001f);  // impressions, K = 2
  EXPECT_FLOAT_EQ(c.candidate_row[0].high, 1.011f);              // one-hot topic
  EXPECT_FLOAT_EQ(c.candidate_row[4].high, 0.001f);              // nothing there
  // The budget sets the most a session can return.
  config.sim.time_budget = 20;
  EXPECT_NEAR(TrajectoryContractOf(config).episode_return.high, 276 * 1.01 + 0.001, 0.01);
  // Interests instead of clicks: [-1, 1].
  config.sim.observe_interests = true;
  EXPECT_FLOAT_EQ(TrajectoryContractOf(config).user_row[0].low, -1.011f);
}

TEST(TrajectoryChecksTest, RefusesFiniteValuesBeyondWhatTheWorldCanProduce) {
  EXPECT_EQ(WorldRefusalOf([](Trajectory&) {}), "accepted");
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) { t.episode_returns[1] = 3e36f; })
                .find("actor 7: episode_returns[1] is 3e+36, expected a finite value in [-0.001, "
                      "2751.24] (the most a session can return)"),
            std::string::npos);
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) {
              Mutable<float>(t.rewards)[3] = 4.5f;
            }).find("rewards[3] is 4.5, expected a finite value in [-0.001, 4.041]"),
            std::string::npos);
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) {
              Mutable<float>(t.steps.history_responses)[2] = -1.f;
            }).find("history_responses[2] is -1"),
            std::string::npos);
  // Features are bounded by row and column: element 6 + 1 is candidate row 1's topic 1.
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) { Mutable<float>(t.steps.features)[6 + 1] = 2.f; })
                .find("features[7] is 2, expected a finite value in [-0.001, 1.011] (candidate row "
                      "1, feature 1)"),
            std::string::npos);
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) { Mutable<float>(t.bootstrap.features)[0] = 1e5f; })
                .find("bootstrap.features[0] is 100000, expected a finite value in [-0.001, "
                      "10.101] (the user row, feature 0)"),
            std::string::npos);
  EXPECT_NE(WorldRefusalOf([](Trajectory& t) {
              Mutable<float>(t.steps.features)[5] = kNaN;
            }).find("features[5] is nan"),
            std::string::npos);
}

}  // namespace
}  // namespace rlrec::common
