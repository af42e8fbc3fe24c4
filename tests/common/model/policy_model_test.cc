#include "common/model/policy_model.h"

#include <gtest/gtest.h>

#include "common/base/error.h"
#include "common/config/config.h"
#include "common/model/memory_plan.h"
#include "tests/model_inputs.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

using testing::Clone;
using testing::RandomInput;
using testing::SmallModel;

class PolicyModelEncoderTest : public ::testing::TestWithParam<common::UserEncoder> {};

TEST_P(PolicyModelEncoderTest, TheUsersHistoryChangesTheScoresAndTheValue) {
  torch::manual_seed(3);
  PolicyModel model(SmallModel(8, 16, /*item_buckets=*/50, /*topics=*/5, GetParam()));
  auto a = RandomInput(6, 4, 8, 5, 50, 5, /*filled=*/5);
  auto b = Clone(a);
  b.history_items = torch::randint(50, {6, 5}, torch::kInt64);
  auto out_a = model->Forward(a), again = model->Forward(a), out_b = model->Forward(b);
  EXPECT_TRUE(torch::equal(out_a.scores, again.scores));
  // Every row's history differs, so every row's scores and value differ.
  EXPECT_TRUE((out_a.scores - out_b.scores).abs().amax(1).gt(1e-6).all().item<bool>());
  EXPECT_TRUE((out_a.values - out_b.values).abs().gt(1e-7).all().item<bool>());
}

TEST_P(PolicyModelEncoderTest, EmptyHistoryEntriesAreIgnoredWhateverTheyHold) {
  torch::manual_seed(4);
  PolicyModel model(SmallModel(8, 16, 50, 5, GetParam()));
  auto a = RandomInput(6, 4, 8, 6, 50, 5, /*filled=*/2);
  auto b = Clone(a);
  // Entries 2.. are empty (topic -1): their item ids and responses must not matter.
  b.history_items.narrow(1, 2, 4).copy_(torch::randint(50, {6, 4}, torch::kInt64));
  b.history_responses.narrow(1, 2, 4).fill_(7);
  EXPECT_TRUE(torch::allclose(model->Forward(a).scores, model->Forward(b).scores));
  // ...while the filled entries do.
  b.history_responses.narrow(1, 0, 1).fill_(9);
  EXPECT_FALSE(torch::allclose(model->Forward(a).scores, model->Forward(b).scores));
}

INSTANTIATE_TEST_SUITE_P(Encoders, PolicyModelEncoderTest,
                         ::testing::Values(common::UserEncoder::kPooled, common::UserEncoder::kGru,
                                           common::UserEncoder::kTransformer));

TEST(PolicyModelTest, PooledHistoryIgnoresOrderAndTheGruDoesNot) {
  torch::manual_seed(5);
  PolicyModel pooled(SmallModel(8, 16, 50, 5, common::UserEncoder::kPooled));
  PolicyModel gru(SmallModel(8, 16, 50, 5, common::UserEncoder::kGru));
  auto a = RandomInput(6, 4, 8, 4, 50, 5, /*filled=*/4);
  auto b = Clone(a);
  auto reversed = torch::tensor({3, 2, 1, 0}, torch::kInt64);
  b.history_items = a.history_items.index_select(1, reversed);
  b.history_topics = a.history_topics.index_select(1, reversed);
  b.history_responses = a.history_responses.index_select(1, reversed);
  EXPECT_TRUE(torch::allclose(pooled->Forward(a).scores, pooled->Forward(b).scores, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(gru->Forward(a).scores, gru->Forward(b).scores, 1e-5, 1e-6));
}

TEST(PolicyModelTest, CandidateItemIdsMoveTheirOwnScoresOnly) {
  torch::manual_seed(6);
  PolicyModel model(SmallModel(8, 16, 50, 5));
  {
    // Give each item its own bias, as training would.
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key() == "item_score_bias.weight") p.value().copy_(torch::randn_like(p.value()));
    }
  }
  auto a = RandomInput(3, 4, 8, 3, 50, 5, 3);
  auto b = Clone(a);
  b.candidate_items.select(1, 2).copy_((a.candidate_items.select(1, 2) + 1).remainder(50));
  auto diff = (model->Forward(a).scores - model->Forward(b).scores).abs();
  EXPECT_TRUE(diff.select(1, 2).gt(1e-6).all().item<bool>());
  EXPECT_EQ(diff.narrow(1, 0, 2).max().item<float>(), 0.f);
  EXPECT_EQ(diff.select(1, 3).max().item<float>(), 0.f);
}

TEST(PolicyModelTest, WithoutItemBucketsIdsAreIgnored) {
  torch::manual_seed(7);
  PolicyModel model(SmallModel(8, 16, /*item_buckets=*/0, 5));
  auto a = RandomInput(3, 4, 8, 3, 50, 5, 3);
  auto b = Clone(a);
  b.candidate_items = torch::full_like(a.candidate_items, -1);
  b.history_items = torch::randint(1000, {3, 3}, torch::kInt64);
  EXPECT_TRUE(torch::equal(model->Forward(a).scores, model->Forward(b).scores));
}

TEST(PolicyModelTest, MismatchedShapesAreRefusedWithTheirSizes) {
  PolicyModel model(SmallModel(8, 16, 50, 5));
  auto in = RandomInput(3, 4, 8, 3, 50, 5, 3);
  in.candidate_items = in.candidate_items.narrow(1, 0, 3);
  try {
    model->Forward(in);
    FAIL() << "scored 4 candidates with 3 ids";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("candidate_items must be [3, 4]"), std::string::npos)
        << e.what();
  }
}

// The memory check runs before a model exists, from the config alone: its parameter counts
// must be the model's, for every shape option.
TEST(PolicyModelTest, MemoryPlanCountsTheModelsParametersExactly) {
  for (int embedding_dim : {0, 8, 32}) {
    for (UserEncoder encoder :
         {UserEncoder::kPooled, UserEncoder::kGru, UserEncoder::kTransformer}) {
      RunConfig config;
      config.sim.corpus_size = 500;
      config.model.hidden = 32;
      config.model.layers = 3;
      config.model.heads = 4;
      config.model.ffn = embedding_dim == 8 ? 48 : 0;
      config.sim.history_length = 7;
      config.model.embedding_dim = embedding_dim;
      config.model.user_encoder = encoder;
      config.learner.table_optimizer = TableOptimizer::kRowAdagrad;
      PolicyModel model(ModelOptions(config));
      uint64_t tables = 0, dense = 0;
      for (const auto& t : model->SparseTables()) tables += t.numel();
      for (const auto& p : model->DenseParameters()) dense += p.numel();
      const MemoryPlan plan = PlanMemory(config);
      EXPECT_EQ(plan.table_parameters, tables) << "embedding_dim " << embedding_dim;
      EXPECT_EQ(plan.dense_parameters, dense) << "embedding_dim " << embedding_dim;
      EXPECT_EQ(plan.table_rows, 501u);
    }
  }
}

TEST(PolicyModelTest, ATableTooLargeForTheHostIsRefusedNamingItsKeysAndBytes) {
  RunConfig config;
  config.sim.corpus_size = 1000;
  config.model.item_buckets = 100000000;  // the largest allowed
  config.model.embedding_dim = 65536;     // 26 TB of table: no test machine has it
  try {
    CheckMemoryFits(config, /*learners=*/0, /*actors=*/1);
    FAIL() << "a 26 TB table was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.item_buckets"), std::string::npos) << what;
    EXPECT_NE(what.find("model.embedding_dim"), std::string::npos) << what;
    EXPECT_NE(what.find("TB"), std::string::npos) << what;
  }
}

// The host's shared snapshot costs actor.snapshot_copies copies of the model: configs/xl.ini keeps
// one so that its learner, two actors and the snapshot still fit a 24 GB host (whose memory
// available, which CheckMemoryFits compares with, is less); two would not. (Measured: the xl job
// used 21.5 GB of the 25.3 GB development VM with one copy; a second is 5.2 GB more.)
TEST(PolicyModelTest, TheXlPresetFitsA24GBHostWithOneSnapshotCopyAndNotWithTwo) {
  const std::string path = testing::SourceDir() + "/configs/xl.ini";
  const char* argv[] = {"test", "--config", path.c_str()};
  auto parsed = ParseArgs(3, argv, "test", "");
  ASSERT_TRUE(parsed.has_value());
  RunConfig config = parsed->config;
  ASSERT_EQ(config.actor.snapshot_copies, 1);
  const auto need = [&] {
    const MemoryPlan plan = PlanMemory(config);
    return plan.learner_bytes + 2 * plan.actor_bytes + plan.host_bytes;
  };
  const uint64_t one = PlanMemory(config).host_bytes, weights = 4 * PlanMemory(config).parameters();
  constexpr uint64_t k24Gb = 24'000'000'000;
  EXPECT_LE(need(), k24Gb) << HumanBytes(need());
  config.actor.snapshot_copies = 2;
  EXPECT_GT(need(), k24Gb) << HumanBytes(need());
  EXPECT_EQ(PlanMemory(config).host_bytes - one, weights + weights / 512) << "one copy more";
}

}  // namespace
}  // namespace rlrec::common
