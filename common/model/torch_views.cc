#include "common/model/torch_views.h"

#include <string>
#include <type_traits>

#include "common/base/error.h"

namespace rlrec::common {

torch::ScalarType ScalarTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return torch::kFloat32;
    case DType::kInt32:
      return torch::kInt32;
    case DType::kUInt8:
      return torch::kUInt8;
    case DType::kInt64:
      return torch::kInt64;
  }
  throw InvalidInput("unknown dtype");
}

DType DTypeOf(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return DType::kFloat32;
    case torch::kInt32:
      return DType::kInt32;
    case torch::kUInt8:
      return DType::kUInt8;
    case torch::kInt64:
      return DType::kInt64;
    default:
      throw InvalidInput(std::string("no wire dtype for ") + c10::toString(type));
  }
}

torch::Tensor TensorFromView(const TensorView& view, std::shared_ptr<const void> owner) {
  auto holder = new std::shared_ptr<const void>(std::move(owner));
  return torch::from_blob(
      const_cast<void*>(view.data), view.shape, [holder](void*) { delete holder; },
      torch::TensorOptions().dtype(ScalarTypeOf(view.dtype)));
}

TensorView ViewOfTensor(const torch::Tensor& tensor) {
  TensorView view;
  view.dtype = DTypeOf(tensor.scalar_type());
  view.shape = tensor.sizes().vec();
  view.data = tensor.data_ptr();
  view.bytes = tensor.numel() * tensor.element_size();
  return view;
}

TorchStates TensorsFromViews(const StateViews& views, const std::shared_ptr<const void>& owner) {
  TorchStates tensors;
  ForEachStateTensor(tensors, views,
                     [&](const StateTensorSpec&, torch::Tensor& tensor, const TensorView& view) {
                       tensor = TensorFromView(view, owner);
                     });
  return tensors;
}

StateViews ViewsOfTensors(const TorchStates& tensors) {
  StateViews views;
  ForEachStateTensor(views, tensors,
                     [](const StateTensorSpec&, TensorView& view, const torch::Tensor& tensor) {
                       view = ViewOfTensor(tensor);
                     });
  return views;
}

TorchStates EmptyStates(const std::vector<int64_t>& lead, int64_t C, int64_t F, int64_t H) {
  TorchStates states;
  ForEachStateTensor(states, [&](const StateTensorSpec& spec, torch::Tensor& x) {
    x = torch::empty(StateShape(spec, lead, C, F, H),
                     torch::TensorOptions().dtype(ScalarTypeOf(spec.dtype)));
  });
  return states;
}

ObservationBuffers PointersOf(const TorchStates& states) {
  ObservationBuffers out;
  ForEachStateTensor(out, states,
                     [](const StateTensorSpec&, auto*& pointer, const torch::Tensor& x) {
                       using T = std::remove_pointer_t<std::decay_t<decltype(pointer)>>;
                       pointer = x.data_ptr<T>();
                     });
  return out;
}

TorchStates TensorsFromPointers(const ObservationBuffers& buffers, int64_t users, int64_t C,
                                int64_t F, int64_t H) {
  TorchStates out;
  ForEachStateTensor(out, buffers,
                     [&](const StateTensorSpec& spec, torch::Tensor& x, auto* pointer) {
                       x = torch::from_blob(pointer, StateShape(spec, {users}, C, F, H),
                                            torch::TensorOptions().dtype(ScalarTypeOf(spec.dtype)));
                     });
  return out;
}

TorchStates Select(const TorchStates& states, int64_t index) {
  TorchStates out;
  ForEachStateTensor(out, states,
                     [index](const StateTensorSpec&, torch::Tensor& x, const torch::Tensor& in) {
                       x = in[index];
                     });
  return out;
}

std::array<torch::Tensor*, kNumStateTensors> TensorsOf(TorchStates& states) {
  return std::apply(
      [](auto&... tensors) { return std::array<torch::Tensor*, kNumStateTensors>{&tensors...}; },
      states.Fields());
}

TorchStates CatStates(std::vector<TorchStates> states, int64_t dim) {
  TorchStates out;
  auto out_tensors = TensorsOf(out);
  for (size_t i = 0; i < kNumStateTensors; ++i) {
    std::vector<torch::Tensor> parts;
    parts.reserve(states.size());
    for (auto& s : states) parts.push_back(*TensorsOf(s)[i]);
    *out_tensors[i] = torch::cat(parts, dim);
  }
  return out;
}

}  // namespace rlrec::common
