// What a learner refuses before any of it reaches a tensor: ids outside their tables,
// non-finite or absurd floats, flags other than 0/1, repeated slate entries, wrong shapes.
#include "common/trajectory_checks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "common/error.h"
#include "common/trajectory_codec.h"
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

}  // namespace
}  // namespace rlrec::common
