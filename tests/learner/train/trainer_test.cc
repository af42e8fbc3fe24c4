// The trainer of one learner rank: an update moves the policy, a checkpoint restores it.
#include "learner/train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "common/base/error.h"
#include "common/wire/snapshot_delta.h"
#include "tests/model_inputs.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

common::RunConfig SmallConfig() {
  common::RunConfig config;
  config.model.hidden = 16;
  config.sim.corpus_size = 50;
  return config;
}

Batch BatchFor(const common::RunConfig& c, uint64_t seed) {
  return testing::RandomBatch(/*T=*/3, /*N=*/4, c.sim.candidates,
                              common::ObservationFeatures(c.sim.topics), c.sim.slate_size,
                              c.sim.history_length, c.sim.corpus_size, c.sim.topics, seed);
}

TEST(TrainerTest, AnUpdateMovesTheParametersAndReportsFiniteLossTerms) {
  MpiWorld world;  // not started by mpirun: a world of one
  torch::manual_seed(1);
  const common::RunConfig config = SmallConfig();
  Trainer trainer(config, world);
  EXPECT_EQ(trainer.Describe(), "device cpu");
  auto before = trainer.Snapshot("run", 0);
  const UpdateResult update = trainer.Update(BatchFor(config, 7));
  EXPECT_TRUE(update.Applied()) << update.SkipReason();
  const LossValues terms = update.terms.Read();
  EXPECT_EQ(terms.total, update.terms.total.item<double>());
  EXPECT_TRUE(std::isfinite(terms.policy_loss) && std::isfinite(terms.value_loss));
  EXPECT_GT(terms.entropy, 0);
  EXPECT_GT(terms.mean_rho, 0);  // V-trace, the default objective
  EXPECT_NE(trainer.Snapshot("run", 1)->bytes, before->bytes);
}

TEST(TrainerTest, ACheckpointRestoresTheParametersTheOptimiserAndTheCounters) {
  MpiWorld world;
  testing::TempDir dir;
  const common::RunConfig config = SmallConfig();
  torch::manual_seed(1);
  Trainer trained(config, world);
  trained.Update(BatchFor(config, 7));
  const std::string path = CheckpointPath(dir.path(), 1);
  trained.Save(path, {1, 240, 1}, "[run]\n");
  torch::manual_seed(2);  // other initial weights
  Trainer resumed(config, world);
  Resumed r = resumed.Resume(dir.path());
  EXPECT_EQ(r.path, path);
  EXPECT_EQ(r.contents.counters.updates, 1u);
  EXPECT_EQ(r.contents.counters.env_steps, 240u);
  EXPECT_EQ(r.contents.config_ini, "[run]\n");
  EXPECT_EQ(resumed.Snapshot("run", 1)->bytes, trained.Snapshot("run", 1)->bytes);
  // The same next update from both: the optimiser state came along too.
  trained.Update(BatchFor(config, 8));
  resumed.Update(BatchFor(config, 8));
  EXPECT_EQ(resumed.Snapshot("run", 2)->bytes, trained.Snapshot("run", 2)->bytes);
}

TEST(TrainerTest, ANonFiniteOrFailingUpdateIsSkippedAndLeavesTheWeightsAsTheyWere) {
  MpiWorld world;
  torch::manual_seed(1);
  const common::RunConfig config = SmallConfig();
  Trainer trainer(config, world);
  const auto before = trainer.Snapshot("run", 0);

  Batch poisoned = BatchFor(config, 7);
  poisoned.rewards[1][2] = std::numeric_limits<float>::quiet_NaN();
  UpdateResult skipped = trainer.Update(poisoned);
  EXPECT_FALSE(skipped.Applied());
  EXPECT_NE(skipped.SkipReason().find("nan"), std::string::npos) << skipped.SkipReason();
  EXPECT_EQ(trainer.Snapshot("run", 0)->bytes, before->bytes);

  Batch broken = BatchFor(config, 7);
  broken.slates.fill_(1000);  // candidates that do not exist: LibTorch throws
  skipped = trainer.Update(broken);
  EXPECT_FALSE(skipped.Applied());
  EXPECT_NE(skipped.SkipReason().find("the update failed"), std::string::npos)
      << skipped.SkipReason();
  EXPECT_EQ(trainer.Snapshot("run", 0)->bytes, before->bytes);

  // The optimiser state is untouched too: the next good update is the one a fresh trainer
  // makes.
  torch::manual_seed(1);
  Trainer fresh(config, world);
  ASSERT_TRUE(trainer.Update(BatchFor(config, 8)).Applied());
  ASSERT_TRUE(fresh.Update(BatchFor(config, 8)).Applied());
  EXPECT_EQ(trainer.Snapshot("run", 1)->bytes, fresh.Snapshot("run", 1)->bytes);
}

// With sparse item tables the lead publishes deltas: the base plus each delta rebuilds,
// byte for byte, the full snapshot of that version, while a delta carries only the rows the
// updates touched. A full version also sends a delta with the full state's checksum.
TEST(TrainerTest, DeltasOnTheLastPublishedVersionRebuildTheFullSnapshotExactly) {
  MpiWorld world;
  torch::manual_seed(1);
  common::RunConfig config = SmallConfig();
  config.sim.corpus_size = 20000;
  config.learner.table_optimizer = common::TableOptimizer::kRowAdagrad;
  Trainer trainer(config, world);
  auto first = trainer.SnapshotsToPublish("run", 1, /*full=*/false);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_FALSE(first[0]->is_delta()) << "version 1 has no base to be a delta on";
  std::shared_ptr<const common::SnapshotBlob> rebuilt = first[0];
  for (uint64_t version = 2; version <= 4; ++version) {
    ASSERT_TRUE(trainer.Update(BatchFor(config, version)).Applied());
    const bool full = version == 4;
    const auto published = trainer.SnapshotsToPublish("run", version, full);
    ASSERT_EQ(published.size(), full ? 2u : 1u);
    const auto& delta = published[0];
    ASSERT_TRUE(delta->is_delta());
    EXPECT_EQ(delta->base_version, version - 1);
    EXPECT_EQ(delta->state_checksum != 0, full);
    EXPECT_LT(delta->bytes.size(), rebuilt->bytes.size() / 10)
        << "a delta of a few touched rows must be far smaller than the snapshot";
    rebuilt = common::ApplyDelta(*rebuilt, *delta);  // checks the checksum when it has one
    const auto expected = full ? published[1] : trainer.Snapshot("run", version);
    EXPECT_FALSE(expected->is_delta());
    ASSERT_EQ(rebuilt->bytes, expected->bytes) << "version " << version;
    EXPECT_EQ(rebuilt->version, version);
  }
  // Without an update nothing but the dense parameters changes: a delta with no rows.
  const auto idle = trainer.SnapshotsToPublish("run", 5, false);
  size_t rows = 0;
  for (const auto& spec : idle[0]->manifest) {
    if (spec.name.find(common::kDeltaRowsSuffix) != std::string::npos) rows += spec.shape[0];
  }
  EXPECT_EQ(rows, 0u);
  EXPECT_EQ(common::ApplyDelta(*rebuilt, *idle[0])->bytes, rebuilt->bytes);
}

TEST(TrainerTest, ACheckpointOfNonFiniteWeightsIsNeverWritten) {
  MpiWorld world;
  testing::TempDir dir;
  Trainer trainer(SmallConfig(), world);
  {
    torch::NoGradGuard no_grad;
    trainer.model()->parameters()[3].view({-1})[0] = std::numeric_limits<float>::infinity();
  }
  const std::string path = CheckpointPath(dir.path(), 1);
  try {
    trainer.Save(path, {1, 10, 1}, "");
    FAIL() << "wrote a checkpoint of non-finite weights";
  } catch (const common::Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(TrainerTest, CudaWithoutACudaDeviceIsRefusedWithAReason) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a CUDA device";
  MpiWorld world;
  common::RunConfig config = SmallConfig();
  config.learner.device = common::Device::kCuda;
  try {
    Trainer trainer(config, world);
    FAIL() << "built a CUDA trainer without CUDA";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("learner.device = cuda"), std::string::npos);
  }
}

}  // namespace
}  // namespace rlrec::learner
