// What an actor does with a file where its host segment should be: removes it when nobody
// holds it and makes the segment afresh; refuses and counts one that someone holds and is not
// this run's, and acts on a private copy.
#include "actors/actor_weights.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/policy_model.h"
#include "common/snapshot.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

constexpr char kEndpoint[] = "tcp://127.0.0.1:1";

struct Fixture {
  testing::TempDir shm;
  common::RunConfig config;
  common::ZmqContext context;
  common::PolicyModel model{nullptr};

  Fixture() {
    config.sim.corpus_size = 100;
    config.actor.shm_dir = shm.path();
    model = common::PolicyModel(common::ModelOptions(config));
  }
  std::string Path() const { return shm.path() + "/" + HostSegment::NameFor("run", kEndpoint); }
};

TEST(ActorWeightsTest, AFileNobodyHoldsUnderThisRunsNameIsRemovedAtStartAndMadeAfresh) {
  Fixture f;
  std::ofstream(f.Path()) << std::string(100000, 'x');  // a crashed run's, or planted
  ActorWeights weights(f.config, f.context, "run", kEndpoint, *f.model, {});
  EXPECT_TRUE(weights.shared()) << "the file was not replaced";
  EXPECT_EQ(weights.refused_segments(), 0u) << "a stale file is cleaned, not refused";
  // What is there now is this run's segment.
  EXPECT_NO_THROW(HostSegment::Open(f.shm.path(), HostSegment::NameFor("run", kEndpoint), "run",
                                    common::ManifestOf(*f.model)));
}

TEST(ActorWeightsTest, ARefusedSegmentThatSomeoneHoldsLeavesTheActorOnAPrivateCopy) {
  Fixture f;
  auto held = HostSegment::Open(f.shm.path(), HostSegment::NameFor("run", kEndpoint), "other",
                                common::ManifestOf(*f.model));
  ActorWeights weights(f.config, f.context, "run", kEndpoint, *f.model, {});
  EXPECT_EQ(weights.refused_segments(), 1u);
  EXPECT_FALSE(weights.shared());
  EXPECT_TRUE(std::filesystem::exists(f.Path())) << "a segment in use was removed";
}

}  // namespace
}  // namespace rlrec::actors
