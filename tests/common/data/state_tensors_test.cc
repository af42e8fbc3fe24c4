// The one description of a state's tensors, and the forms it takes: arrays a simulator
// fills, views on the wire, LibTorch tensors.
#include "common/data/state_tensors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/model/torch_views.h"

namespace rlrec::common {
namespace {

TEST(StateTensorsTest, EveryFormListsTheTensorsInTheSpecsOrder) {
  std::vector<std::string> names;
  StateViews views;
  ForEachStateTensor(views,
                     [&](const StateTensorSpec& spec, TensorView&) { names.push_back(spec.name); });
  EXPECT_EQ(names, (std::vector<std::string>{"features", "candidate_items", "history_items",
                                             "history_topics", "history_responses"}));
  EXPECT_EQ(StateShape(kStateTensorSpecs[0], {3, 2}, /*C=*/4, /*F=*/6, /*H=*/5),
            (std::vector<int64_t>{3, 2, 5, 6}));
  EXPECT_EQ(StateShape(kStateTensorSpecs[1], {2}, 4, 6, 5), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(StateShape(kStateTensorSpecs[3], {2}, 4, 6, 5), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(ObservationFeatures(20), 42);
}

TEST(StateTensorsTest, ArraysAndTensorsHoldOneObservationOfEveryUser) {
  ObservationArrays arrays = MakeObservationArrays(/*users=*/3, /*C=*/4, /*F=*/6, /*H=*/5);
  EXPECT_EQ(arrays.features.size(), 3u * 5 * 6);
  EXPECT_EQ(arrays.candidate_items.size(), 3u * 4);
  EXPECT_EQ(arrays.history_topics.size(), 3u * 5);
  ObservationBuffers pointers = PointersOf(arrays);
  pointers.candidate_items[11] = 77;
  pointers.history_topics[2] = 9;
  TorchStates tensors = TensorsFromPointers(pointers, 3, 4, 6, 5);
  EXPECT_EQ(tensors.features.sizes(), torch::IntArrayRef({3, 5, 6}));
  EXPECT_EQ(tensors.candidate_items[2][3].item<int64_t>(), 77);
  EXPECT_EQ(tensors.history_topics.scalar_type(), torch::kInt32);
  EXPECT_EQ(tensors.history_topics[0][2].item<int32_t>(), 9);
}

TEST(StateTensorsTest, TorchStatesSelectStackAndViewWithoutLosingAField) {
  TorchStates a = EmptyStates({2, 3}, 4, 6, 5), b = EmptyStates({2, 1}, 4, 6, 5);
  for (torch::Tensor* x : TensorsOf(a)) x->fill_(1);
  for (torch::Tensor* x : TensorsOf(b)) x->fill_(2);
  TorchStates both = CatStates({a, b}, 1);
  EXPECT_EQ(both.history_responses.sizes(), torch::IntArrayRef({2, 4, 5}));
  EXPECT_EQ(both.candidate_items.scalar_type(), torch::kInt64);
  TorchStates step = Select(both, 1);
  EXPECT_EQ(step.features.sizes(), torch::IntArrayRef({4, 5, 6}));
  EXPECT_EQ(step.history_items[3][0].item<int64_t>(), 2);
  // Pointers into a selected step write into the stacked tensors.
  PointersOf(step).history_items[0] = 42;
  EXPECT_EQ(both.history_items[1][0][0].item<int64_t>(), 42);
  StateViews views = ViewsOfTensors(a);
  EXPECT_EQ(views.features.shape, (std::vector<int64_t>{2, 3, 5, 6}));
  EXPECT_EQ(views.history_topics.dtype, DType::kInt32);
  TorchStates back = TensorsFromViews(views, nullptr);
  EXPECT_EQ(back.history_responses.data_ptr(), a.history_responses.data_ptr());
}

}  // namespace
}  // namespace rlrec::common
