#include "learner/train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/base/error.h"
#include "common/model/policy_model.h"
#include "tests/model_inputs.h"
#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

// A model and its Adam optimiser, one step in, so the optimiser has state to save.
struct Trained {
  explicit Trained(int hidden = 16, uint64_t seed = 1) {
    torch::manual_seed(seed);
    model = common::PolicyModel(testing::SmallModel(6, hidden, 20, 4));
    optimizer = std::make_unique<torch::optim::Adam>(model->parameters());
    auto input = testing::RandomInput(3, 5, 6, 4, 20, 4, 2);
    optimizer->zero_grad();
    model->Forward(input).scores.sum().backward();
    optimizer->step();
  }
  common::PolicyModel model{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;
};

std::string ReadBytes(const std::string& path) { return testing::ReadFile(path); }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string LoadError(const std::string& path) {
  Trained into;
  try {
    LoadCheckpoint(path, *into.model, *into.optimizer);
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(CheckpointTest, LoadRestoresModelOptimizerCountersRandomStateAndConfig) {
  testing::TempDir dir;
  Trained saved(16, 1);
  const std::string path = CheckpointPath(dir.path(), 42);
  torch::manual_seed(99);
  auto rng_before = at::detail::getDefaultCPUGenerator().get_state();
  SaveCheckpoint(path, *saved.model, *saved.optimizer, {42, 4200, 21, {3, 9, 70000}},
                 "[run]\nseed = 3\n");
  torch::rand({10});  // moves the random state on

  Trained loaded(16, 2);
  auto contents = LoadCheckpoint(path, *loaded.model, *loaded.optimizer);
  EXPECT_EQ(contents.counters.updates, 42u);
  EXPECT_EQ(contents.counters.env_steps, 4200u);
  EXPECT_EQ(contents.counters.snapshot_version, 21u);
  EXPECT_EQ(contents.counters.actors_seen, (std::vector<uint32_t>{3, 9, 70000}))
      << "a resumed run's actors_seen goes on from the actors admitted before";
  EXPECT_EQ(contents.config_ini, "[run]\nseed = 3\n");
  EXPECT_TRUE(torch::equal(at::detail::getDefaultCPUGenerator().get_state(), rng_before));
  auto a = saved.model->parameters(), b = loaded.model->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  // The optimiser's moments came along: the next step is the same on both.
  auto input = testing::RandomInput(3, 5, 6, 4, 20, 4, 2);
  for (Trained* t : {&saved, &loaded}) {
    t->optimizer->zero_grad();
    t->model->Forward(input).scores.sum().backward();
    t->optimizer->step();
  }
  a = saved.model->parameters(), b = loaded.model->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  EXPECT_EQ(path, dir.path() + "/ckpt-000000000042.pt");
}

TEST(CheckpointTest, TruncatedFlippedOtherSchemaAndOtherShapeAreRefusedNamingFileAndProblem) {
  testing::TempDir dir;
  Trained saved;
  const std::string good = dir.path() + "/good.pt";
  SaveCheckpoint(good, *saved.model, *saved.optimizer, {1, 2, 3}, "");
  const std::string bytes = ReadBytes(good);

  const std::string truncated = dir.path() + "/truncated.pt";
  WriteBytes(truncated, bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(LoadError(truncated).find("'" + truncated + "': truncated"), std::string::npos)
      << LoadError(truncated);

  const std::string flipped = dir.path() + "/flipped.pt";
  std::string changed = bytes;
  changed[bytes.size() / 2] ^= 0x10;
  WriteBytes(flipped, changed);
  EXPECT_NE(LoadError(flipped).find("'" + flipped + "': corrupted"), std::string::npos)
      << LoadError(flipped);

  const std::string schema = dir.path() + "/schema.pt";
  changed = bytes;
  changed[8] = 7;  // the schema version follows the 8-byte magic
  WriteBytes(schema, changed);
  EXPECT_NE(LoadError(schema).find("schema version 7, this rlrec reads version 1"),
            std::string::npos)
      << LoadError(schema);

  const std::string garbage = dir.path() + "/garbage.pt";
  WriteBytes(garbage, "not a checkpoint at all, just text");
  EXPECT_NE(LoadError(garbage).find("not an rlrec checkpoint"), std::string::npos);

  Trained wide(32);
  const std::string other_shape = dir.path() + "/wide.pt";
  SaveCheckpoint(other_shape, *wide.model, *wide.optimizer, {1, 2, 3}, "");
  EXPECT_NE(LoadError(other_shape).find("holds a model of another shape"), std::string::npos)
      << LoadError(other_shape);
  EXPECT_EQ(LoadError(good), "");
}

TEST(CheckpointTest, ResumeFallsBackToTheNewestCheckpointThatLoadsAndSaysWhy) {
  testing::TempDir dir;
  Trained saved;
  SaveCheckpoint(CheckpointPath(dir.path(), 10), *saved.model, *saved.optimizer, {10, 1, 5}, "");
  SaveCheckpoint(CheckpointPath(dir.path(), 20), *saved.model, *saved.optimizer, {20, 2, 10}, "");
  std::string bytes = ReadBytes(CheckpointPath(dir.path(), 20));
  WriteBytes(CheckpointPath(dir.path(), 20), bytes.substr(0, bytes.size() - 100));

  Trained into;
  Resumed resumed = LoadNewestCheckpoint(dir.path(), *into.model, *into.optimizer);
  EXPECT_EQ(resumed.path, CheckpointPath(dir.path(), 10));
  EXPECT_EQ(resumed.contents.counters.updates, 10u);
  ASSERT_EQ(resumed.refused.size(), 1u);
  EXPECT_NE(resumed.refused[0].find("ckpt-000000000020.pt': truncated"), std::string::npos)
      << resumed.refused[0];
}

TEST(CheckpointTest, ResumeWithoutAnyLoadableCheckpointIsAnErrorNotAFreshStart) {
  testing::TempDir dir;
  Trained into;
  EXPECT_THROW(LoadNewestCheckpoint(dir.path(), *into.model, *into.optimizer), common::Error);
  WriteBytes(CheckpointPath(dir.path(), 5), "garbage");
  try {
    LoadNewestCheckpoint(dir.path(), *into.model, *into.optimizer);
    FAIL() << "resumed from garbage";
  } catch (const common::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint in '" + dir.path() + "' loads"),
              std::string::npos)
        << e.what();
  }
}

TEST(CheckpointTest, PruneKeepsTheNewestCheckpoints) {
  testing::TempDir dir;
  for (uint64_t u : {5, 100, 20, 3000}) WriteBytes(CheckpointPath(dir.path(), u), "x");
  WriteBytes(dir.path() + "/final.pt", "x");
  PruneCheckpoints(dir.path(), 2);
  EXPECT_EQ(ListCheckpoints(dir.path()),
            (std::vector<std::string>{CheckpointPath(dir.path(), 3000),
                                      CheckpointPath(dir.path(), 100)}));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/final.pt"));
}

}  // namespace
}  // namespace rlrec::learner
