// What an actor does with the host's shared snapshot: a file where its segment should be is
// removed when nobody holds it and made afresh; one that someone holds and is not this run's,
// or a folder that is not this user's, is refused and counted, and the actor acts on a private
// copy; a receiver stopped with SIGSTOP is replaced by another actor, in real processes.
#include "actors/snapshot/actor_weights.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/snapshot/owned_files.h"
#include "common/model/policy_model.h"
#include "common/model/snapshot.h"
#include "launch/cli/child_process.h"
#include "learner/weight_publisher.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

constexpr char kEndpoint[] = "tcp://127.0.0.1:1";

common::RunConfig ConfigFor(const std::string& shm_dir) {
  common::RunConfig config;
  config.sim.corpus_size = 100;
  config.actor.shm_dir = shm_dir;
  config.actor.receiver_timeout_s = 1;
  return config;
}

struct Fixture {
  testing::TempDir shm;
  common::RunConfig config = ConfigFor(shm.path());
  common::ZmqContext context;
  common::PolicyModel model{common::ModelOptions(config)};

  std::string Folder() const { return shm.path() + "/rlrec-" + std::to_string(geteuid()); }
  std::string Path() const { return Folder() + "/" + HostSegment::NameFor("run", kEndpoint); }
};

TEST(ActorWeightsTest, AFileNobodyHoldsUnderThisRunsNameIsRemovedAtStartAndMadeAfresh) {
  Fixture f;
  MakePrivateFolder(f.shm.path());
  std::ofstream(f.Path()) << std::string(100000, 'x');  // a crashed run's
  chmod(f.Path().c_str(), 0600);
  ActorWeights weights(f.config, f.context, "run", kEndpoint, *f.model, {});
  EXPECT_TRUE(weights.shared()) << "the file was not replaced";
  EXPECT_EQ(weights.refused_segments(), 0u) << "a stale file is cleaned, not refused";
  // What is there now is this run's segment.
  EXPECT_NO_THROW(HostSegment::Open(f.Folder(), HostSegment::NameFor("run", kEndpoint), "run",
                                    common::ManifestOf(*f.model)));
}

TEST(ActorWeightsTest, ARefusedSegmentThatSomeoneHoldsLeavesTheActorOnAPrivateCopy) {
  Fixture f;
  auto held =
      HostSegment::Open(MakePrivateFolder(f.shm.path()), HostSegment::NameFor("run", kEndpoint),
                        "other", common::ManifestOf(*f.model));
  ActorWeights weights(f.config, f.context, "run", kEndpoint, *f.model, {});
  EXPECT_EQ(weights.refused_segments(), 1u);
  EXPECT_FALSE(weights.shared());
  EXPECT_TRUE(std::filesystem::exists(f.Path())) << "a segment in use was removed";
}

// Another local user who made the private folder first (root plays uid 65534) gets it refused:
// the actor acts on a private copy, counts the refusal and leaves the folder alone.
TEST(ActorWeightsTest, AFolderOfAnotherUserIsRefusedCountedAndLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to play another user";
  Fixture f;
  ASSERT_EQ(mkdir(f.Folder().c_str(), 0700), 0);
  ASSERT_EQ(chown(f.Folder().c_str(), 65534, 65534), 0);
  ActorWeights weights(f.config, f.context, "run", kEndpoint, *f.model, {});
  EXPECT_FALSE(weights.shared());
  EXPECT_EQ(weights.refused_segments(), 1u);
  struct stat st {};
  ASSERT_EQ(lstat(f.Folder().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_TRUE(std::filesystem::is_empty(f.Folder())) << "wrote into another user's folder";
}

// The first actor of a host, in a process of its own (this test program run again, with the
// folder and the weights endpoint in its environment): receives the host's snapshot and acts on
// it until it is ended. Run by the test below, never alone.
TEST(ActorWeightsTest, DISABLED_PlaysTheFirstActorOfAHost) {
  const char* shm = std::getenv("RLREC_TEST_SHM");
  const char* endpoint = std::getenv("RLREC_TEST_WEIGHTS");
  ASSERT_TRUE(shm && endpoint);
  const common::RunConfig config = ConfigFor(shm);
  common::ZmqContext context;
  common::PolicyModel model(common::ModelOptions(config));
  ActorWeights weights(config, context, "run", endpoint, *model, {});
  std::atomic<bool> stop{false};
  const auto until = common::After(60);
  while (common::Clock::now() < until) {
    if (weights.Acquire(std::nullopt, stop, common::After(30))) weights.Release();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The actor that receives for its host, stopped with SIGSTOP, used to leave the other actors on
// a policy hundreds of snapshots stale with no takeover and no warning. Now another actor ends it
// once it has been silent for actor.receiver_timeout_s (1 s here), receives in its place, and
// versions keep advancing; the stopped one can never write again.
TEST(ActorWeightsTest, AStoppedReceiverIsNamedAsBehindThenReplacedAndVersionsKeepAdvancing) {
  Fixture f;
  learner::WeightPublisher publisher(f.context, "tcp://127.0.0.1:*", /*chunk_bytes=*/16384,
                                     /*republish_s=*/0.2);
  common::PolicyModel source(common::ModelOptions(f.config));  // the learner's weights
  std::atomic<bool> done{false};
  std::atomic<uint64_t> published{0};
  std::thread learner([&] {
    for (uint64_t version = 1; !done; ++version) {
      publisher.Publish(common::SnapshotFromModel(*source, "run", version));
      published = version;
      for (int i = 0; i < 10 && !done; ++i) {
        publisher.RepublishIfDue();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  });
  struct Joiner {
    std::atomic<bool>& done;
    std::thread& thread;
    ~Joiner() {
      done = true;
      thread.join();
    }
  } joiner{done, learner};
  char exe[PATH_MAX] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof(exe) - 1), 0);
  setenv("RLREC_TEST_SHM", f.shm.path().c_str(), 1);
  setenv("RLREC_TEST_WEIGHTS", publisher.endpoint().c_str(), 1);
  const std::string log = f.shm.path() + "/first-actor.log";
  launch::ChildProcess first(
      {exe, "--gtest_filter=ActorWeightsTest.DISABLED_PlaysTheFirstActorOfAHost",
       "--gtest_also_run_disabled_tests"},
      log, false);
  const auto receives = [&] {
    return ReadFile(log).find("this actor receives the host's shared snapshot") !=
           std::string::npos;
  };
  for (int i = 0; i < 1000 && !receives(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(receives()) << ReadFile(log);

  std::atomic<bool> stop{false};
  ActorWeights second(f.config, f.context, "run", publisher.endpoint(), *f.model, {});
  ASSERT_TRUE(second.Acquire(std::nullopt, stop, common::After(30)));
  second.Release();
  EXPECT_TRUE(second.shared());
  EXPECT_FALSE(second.receiver());
  EXPECT_EQ(LagWarning(second.version(), second, 3), "") << "no lag, no warning";
  first.Signal(SIGSTOP);
  const uint64_t at_stop = published.load();
  const auto stopped = common::Clock::now();
  // While the receiver is stopped, the learner moves on and the actor would say who is behind.
  for (int i = 0; i < 500 && published.load() < second.version() + 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string warning = LagWarning(published.load(), second, 3);
  EXPECT_NE(warning.find("the host's receiver falls behind"), std::string::npos) << warning;
  // Versions after the stop reach this actor only through a new receiver.
  ASSERT_TRUE(second.Acquire(at_stop, stop, common::After(20))) << ReadFile(log);
  second.Release();
  EXPECT_LT(common::SecondsSince(stopped), f.config.actor.receiver_timeout_s + 5);
  EXPECT_TRUE(second.receiver());
  EXPECT_EQ(second.takeovers(), 1u);
  EXPECT_EQ(first.WaitFor(5), 128 + SIGKILL) << "the stopped receiver was not ended";
  const uint64_t version = second.version();
  ASSERT_TRUE(second.Acquire(version, stop, common::After(10)));
  second.Release();
  EXPECT_GT(second.version(), version);
  EXPECT_EQ(second.refused_states(), 0u);
}

}  // namespace
}  // namespace rlrec::actors
