#include "common/model/policy_export.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <cstdlib>
#include <filesystem>

#include "common/model/policy_model.h"
#include "learner/train/checkpoint.h"
#include "tests/model_inputs.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// The numbers of the JSON list under `key` in `json`.
std::vector<double> JsonList(const std::string& json, const std::string& key) {
  std::vector<double> out;
  size_t at = json.find("\"" + key + "\": [");
  if (at == std::string::npos) return out;
  const char* p = json.c_str() + json.find('[', at) + 1;
  while (*p && *p != ']') {
    char* end = nullptr;
    out.push_back(std::strtod(p, &end));
    p = end;
    while (*p == ',' || *p == ' ') ++p;
  }
  return out;
}

class PolicyExportTest : public ::testing::TestWithParam<UserEncoder> {};

TEST_P(PolicyExportTest, TorchScriptGivesTheTrainedModelsScoresInCppAndPython) {
  testing::TempDir dir;
  RunConfig config;
  config.sim.corpus_size = 50;
  config.model.hidden = 16;
  config.model.user_encoder = GetParam();
  // The GRU model also has narrower item rows (projected to the hidden width) in sparse tables.
  if (GetParam() == UserEncoder::kGru) {
    config.model.embedding_dim = 8;
    config.learner.table_optimizer = TableOptimizer::kRowAdagrad;
  }
  if (GetParam() == UserEncoder::kTransformer) {
    config.model.layers = 2;
    config.model.heads = 4;
    config.model.ffn = 24;
  }
  torch::manual_seed(3);
  PolicyModel model(ModelOptions(config));
  {
    // Weights a trained model would have: ids matter.
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().rfind("item_", 0) == 0) p.value().normal_(0, 0.5);
      // The transformer's age biases, null slots and query start at zero or near it.
      if (p.key().find("age_bias") != std::string::npos ||
          p.key().find("null_") != std::string::npos) {
        p.value().normal_(0, 0.5);
      }
    }
  }
  torch::optim::Adam optimizer(model->parameters());
  const std::string checkpoint = dir.path() + "/ckpt.pt";
  learner::SaveCheckpoint(checkpoint, *model, optimizer, {7, 70, 3}, "");
  const ExportSummary summary = ExportPolicy(checkpoint, config, dir.path() + "/repo");

  const int64_t N = 4, C = config.sim.candidates, F = ObservationFeatures(config.sim.topics);
  const int64_t H = config.sim.history_length, K = config.sim.slate_size;
  auto input = testing::FormulaInput(N, C, F, H, 50, config.sim.topics);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto expected = model->Forward(input).scores;
  const auto expected_slate = std::get<1>(torch::topk(expected, K, 1));

  // C++, as a LibTorch server loads it.
  auto module = torch::jit::load(summary.model_path);
  std::vector<torch::jit::IValue> inputs;
  for (torch::Tensor* x : TensorsOf(input)) inputs.emplace_back(*x);
  auto out = module.forward(inputs).toTuple();
  EXPECT_TRUE(torch::allclose(out->elements()[0].toTensor(), expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(out->elements()[1].toTensor(), expected_slate));

  // The repository around it.
  EXPECT_NE(testing::ReadFile(dir.path() + "/repo/rlrec_policy/config.pbtxt")
                .find("platform: \"pytorch_libtorch\""),
            std::string::npos);
  const std::string meta = testing::ReadFile(summary.metadata_path);
  EXPECT_NE(meta.find("\"snapshot_version\":3"), std::string::npos) << meta;
  EXPECT_NE(meta.find("\"item_count\":50"), std::string::npos) << meta;

  // Python, as a Python server loads it (Debian's python3-torch).
  auto probe = testing::RunCommand({"/usr/bin/python3", "-c", "import torch"});
  if (probe.exit_code != 0) {
    GTEST_SKIP() << "no python3-torch here (launch/test installs it as root): " << probe.output;
  }
  auto python = testing::RunCommand(
      {"/usr/bin/python3", testing::SourceDir() + "/tests/serving/check_export.py",
       summary.model_path, std::to_string(N), std::to_string(C), std::to_string(F),
       std::to_string(H), "50", std::to_string(config.sim.topics)},
      120);
  ASSERT_EQ(python.exit_code, 0) << python.output;
  const auto scores = JsonList(python.output, "scores");
  const auto slate = JsonList(python.output, "slate");
  ASSERT_EQ(scores.size(), size_t(N * C)) << python.output;
  ASSERT_EQ(slate.size(), size_t(N * K)) << python.output;
  auto flat = expected.reshape({-1});
  auto flat_slate = expected_slate.reshape({-1});
  for (int64_t i = 0; i < N * C; ++i) {
    EXPECT_NEAR(scores[i], flat[i].item<double>(), 1e-4) << "score " << i;
  }
  for (int64_t i = 0; i < N * K; ++i) EXPECT_EQ(slate[i], flat_slate[i].item<int64_t>());
}

INSTANTIATE_TEST_SUITE_P(Encoders, PolicyExportTest,
                         ::testing::Values(UserEncoder::kPooled, UserEncoder::kGru,
                                           UserEncoder::kTransformer));

TEST(PolicyExportErrorsTest, ACheckpointOfAnotherModelIsRefusedWithAHint) {
  testing::TempDir dir;
  RunConfig config;
  config.model.hidden = 16;
  PolicyModel model(ModelOptions(config));
  torch::optim::Adam optimizer(model->parameters());
  learner::SaveCheckpoint(dir.path() + "/ckpt.pt", *model, optimizer, {1, 1, 1}, "");
  config.model.hidden = 32;
  try {
    ExportPolicy(dir.path() + "/ckpt.pt", config, dir.path() + "/repo");
    FAIL() << "exported a 16-wide checkpoint as a 32-wide model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the model of this config"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/repo/rlrec_policy/1/model.pt"));
}

}  // namespace
}  // namespace rlrec::common
