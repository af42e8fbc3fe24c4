#include "common/run/bottleneck.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rlrec::common {
namespace {

TimeShares Learner(double wait, double decode, double compute) {
  TimeShares s;
  s.learner_wait = wait;
  s.learner_decode = decode;
  s.learner_compute = compute;
  s.actor_simulate = s.actor_infer = s.actor_encode = s.actor_send_blocked = std::nan("");
  return s;
}

TEST(BottleneckTest, ActorsBlockedOnSendWhileTheLearnerNeverWaitsIsLearnerBound) {
  TimeShares s = Learner(0.02, 0.05, 0.9);
  s.actor_send_blocked = 0.71;
  const Diagnosis d = Diagnose(s);
  EXPECT_EQ(d.side, Bottleneck::kLearner);
  EXPECT_EQ(d.phrase, "learner-bound: actors blocked 71% on send");
}

TEST(BottleneckTest, ALearnerWaitingForActorsThatNeverBlockIsActorBound) {
  TimeShares s = Learner(0.64, 0.1, 0.2);
  s.actor_send_blocked = 0.01;
  EXPECT_EQ(Diagnose(s).phrase, "actor-bound: learner waits 64%");
  // Before any actor reports, a waiting learner is still actor-bound.
  EXPECT_EQ(Diagnose(Learner(0.8, 0.1, 0.1)).side, Bottleneck::kActors);
}

TEST(BottleneckTest, AWaitingLearnerWhoseIntakeIsBusyAllTheTimeIsIntakeBound) {
  const Diagnosis d = Diagnose(Learner(0.6, 0.9, 0.3));
  EXPECT_EQ(d.side, Bottleneck::kIntake);
  EXPECT_EQ(d.phrase, "intake-bound: learner decodes 90%");
}

TEST(BottleneckTest, NeitherSideClearlyLimitingGivesNoPhrase) {
  TimeShares s = Learner(0.3, 0.2, 0.6);
  s.actor_send_blocked = 0.3;
  EXPECT_EQ(Diagnose(s).side, Bottleneck::kBalanced);
  EXPECT_TRUE(Diagnose(s).phrase.empty());
  // A waiting learner and blocked actors at once (a slow network, say): no verdict either.
  s.learner_wait = 0.6;
  s.actor_send_blocked = 0.6;
  EXPECT_EQ(Diagnose(s).side, Bottleneck::kBalanced);
  EXPECT_EQ(Diagnose(Learner(std::nan(""), 0, 0)).side, Bottleneck::kUnknown);
}

TEST(BottleneckTest, SharesAreReadBackFromAMetricsRow) {
  const TimeShares s = SharesOfRow(
      R"({"update":4,"learner_wait_share":0.25,"device_busy_share":0.5,)"
      R"("learner_decode_share":0.125,"learner_publish_share":0.0625,"actor_simulate_share":0.4,)"
      R"("actor_infer_share":0.3,"actor_encode_share":0.05,"actor_send_blocked_share":null})");
  EXPECT_EQ(s.learner_wait, 0.25);
  EXPECT_EQ(s.learner_compute, 0.5);
  EXPECT_EQ(s.learner_decode, 0.125);
  EXPECT_EQ(s.learner_publish, 0.0625);
  EXPECT_EQ(s.actor_simulate, 0.4);
  EXPECT_EQ(s.actor_infer, 0.3);
  EXPECT_EQ(s.actor_encode, 0.05);
  EXPECT_TRUE(std::isnan(s.actor_send_blocked));
}

TEST(BottleneckTest, ReliefNamesWhatToChangeForEachLimitingSide) {
  EXPECT_NE(Relief(Bottleneck::kLearner, 2, 2).find("learner.device=cuda"), std::string::npos);
  EXPECT_NE(Relief(Bottleneck::kLearner, 2, 2).find("learner.batch_trajectories"),
            std::string::npos);
  EXPECT_NE(Relief(Bottleneck::kActors, 3, 8).find("3 now on 8 cores"), std::string::npos);
  EXPECT_NE(Relief(Bottleneck::kIntake, 1, 1).find("actor.unroll"), std::string::npos);
  EXPECT_TRUE(Relief(Bottleneck::kBalanced, 1, 1).empty());
}

}  // namespace
}  // namespace rlrec::common
