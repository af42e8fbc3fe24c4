#include "common/model/snapshot.h"

#include <gtest/gtest.h>

#include "common/base/error.h"
#include "common/model/policy_model.h"
#include "common/model/torch_views.h"
#include "tests/model_inputs.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

TEST(SnapshotTest, SnapshotSentInChunksLoadsIntoAnotherModelWithIdenticalOutputs) {
  torch::manual_seed(1);
  PolicyModel source(testing::SmallModel(22, 64, 100, 10, common::UserEncoder::kGru));
  torch::manual_seed(2);
  PolicyModel target(testing::SmallModel(22, 64, 100, 10, common::UserEncoder::kGru));
  auto blob = SnapshotFromModel(*source, "run", 4);
  ZmqContext context;
  testing::LoopbackPipe pipe(context);
  SnapshotAssembler assembler;
  std::shared_ptr<const SnapshotBlob> received;
  for (const auto& chunk : EncodeWeightChunks(blob, 4096)) {
    received = assembler.Add(pipe.Deliver(chunk));
  }
  ASSERT_NE(received, nullptr);
  LoadSnapshotIntoModel(*received, *target);
  auto input = testing::RandomInput(5, 10, 22, 4, 100, 10, 3);
  auto a = source->Forward(input), b = target->Forward(input);
  EXPECT_TRUE(torch::equal(a.scores, b.scores));
  EXPECT_TRUE(torch::equal(a.values, b.values));
}

TEST(SnapshotTest, SnapshotOfAnotherModelShapeIsRefusedAndNothingIsLoaded) {
  PolicyModel small(testing::SmallModel(22, 32)), large(testing::SmallModel(22, 64));
  auto before = large->parameters()[0].clone();
  auto blob = SnapshotFromModel(*small, "run", 1);
  try {
    LoadSnapshotIntoModel(*blob, *large);
    FAIL() << "loaded a 32-wide snapshot into a 64-wide model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("item_embedding.weight"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, large->parameters()[0]));
}

TEST(SnapshotTest, AModelViewedOnASnapshotReadsItsBytesWithoutACopyAndKeepsItAlive) {
  torch::manual_seed(1);
  PolicyModel source(testing::SmallModel(22, 64, 100, 10, common::UserEncoder::kGru));
  torch::manual_seed(2);
  PolicyModel viewer(testing::SmallModel(22, 64, 100, 10, common::UserEncoder::kGru));
  std::shared_ptr<const SnapshotBlob> blob = SnapshotFromModel(*source, "run", 4);
  const uint8_t* bytes = blob->bytes.data();
  std::weak_ptr<const SnapshotBlob> watch = blob;
  ViewModelOnSnapshot(blob, *viewer);
  // Every parameter lies inside the blob, in manifest order.
  size_t offset = 0;
  for (size_t i = 0; i < viewer->parameters().size(); ++i) {
    EXPECT_EQ(viewer->parameters()[i].data_ptr(), bytes + offset) << "parameter " << i;
    offset += blob->manifest[i].bytes();
  }
  blob.reset();
  EXPECT_FALSE(watch.expired()) << "the model's views must keep the snapshot alive";
  torch::NoGradGuard no_grad;  // as actors run: no graph holding on to the parameters
  auto input = testing::RandomInput(5, 10, 22, 4, 100, 10, 3);
  auto a = source->Forward(input), b = viewer->Forward(input);
  EXPECT_TRUE(torch::equal(a.scores, b.scores));
  EXPECT_TRUE(torch::equal(a.values, b.values));
  // A newer snapshot replaces the views, and the old one is freed.
  ViewModelOnSnapshot(SnapshotFromModel(*source, "run", 5), *viewer);
  EXPECT_TRUE(watch.expired()) << "the replaced snapshot is still held";
}

TEST(SnapshotTest, TensorFromViewSharesTheBytesAndKeepsTheirOwnerAlive) {
  auto bytes = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::weak_ptr<std::vector<float>> watch = bytes;
  TensorView view{DType::kFloat32, {2, 3}, bytes->data(), 24};
  torch::Tensor t = TensorFromView(view, bytes);
  bytes.reset();
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(t.data_ptr<float>(), watch.lock()->data());
  EXPECT_FLOAT_EQ(t[1][2].item<float>(), 6.f);
  t = torch::Tensor();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace rlrec::common
