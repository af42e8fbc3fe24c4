// The learner's transformer path that computes keys and values once per distinct impression:
// the same loss and gradients as the full recompute, from far fewer tokens when consecutive
// steps share their history.
#include <gtest/gtest.h>

#include "learner/train/batch.h"
#include "learner/train/loss.h"
#include "learner/train/objective.h"
#include "tests/model_inputs.h"

namespace rlrec::learner {
namespace {

constexpr int64_t kT = 4, kN = 3, kC = 5, kK = 2, kH = 6, kItems = 50, kTopics = 7;

// A batch whose histories shift from step to step, as an unroll's do.
Batch ShiftingBatch() {
  Batch batch = testing::RandomBatch(kT, kN, kC, common::ObservationFeatures(kTopics), kK, kH,
                                     kItems, kTopics, /*seed=*/5);
  testing::ShiftHistories(&batch);
  return batch;
}

TEST(DistinctHistoryTest, TheTransformersLossAndGradientsEqualTheFullRecompute) {
  torch::manual_seed(2);
  auto options = testing::SmallModel(common::ObservationFeatures(kTopics), /*hidden=*/16, kItems,
                                     kTopics, common::UserEncoder::kTransformer);
  options.history_length = kH;
  options.layers = 2;
  options.heads = 2;
  common::PolicyModel model(options);
  const Batch full = ShiftingBatch();
  Batch distinct = full;
  IndexDistinctHistory(&distinct);
  // Each user: at most one new impression per step, plus the one empty token.
  EXPECT_LE(distinct.distinct_items.numel(), kN * (kT + 1) + 1);
  EXPECT_EQ(distinct.token_of.sizes(), torch::IntArrayRef({(kT + 1) * kN, kH}));

  const LossOptions loss_options;
  const auto gradients_of = [&](const Batch& batch) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    const LossTerms terms = ObjectiveLoss(model, batch, loss_options);
    terms.total.backward();
    std::vector<torch::Tensor> grads{terms.values};
    for (auto& p : model->parameters()) {
      grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    return grads;
  };
  const auto want = gradients_of(full);
  const auto got = gradients_of(distinct);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(torch::allclose(got[i], want[i], /*rtol=*/1e-4, /*atol=*/1e-5))
        << (i == 0 ? "loss terms" : "gradient " + std::to_string(i - 1)) << ": "
        << (got[i] - want[i]).abs().max();
  }
  // The history mattered: the transformer's own parameters have gradients.
  EXPECT_GT(model->history_transformer()->parameters().front().grad().abs().sum().item<double>(),
            0);
}

}  // namespace
}  // namespace rlrec::learner
