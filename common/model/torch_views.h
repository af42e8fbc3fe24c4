#ifndef RLREC_COMMON_MODEL_TORCH_VIEWS_H_
#define RLREC_COMMON_MODEL_TORCH_VIEWS_H_

#include <torch/torch.h>

#include <array>
#include <memory>
#include <vector>

#include "common/data/state_tensors.h"
#include "common/data/tensor_view.h"

namespace rlrec::common {

// LibTorch tensors over rlrec's own views of bytes (common/data/tensor_view.h), both ways, without
// copying.

// The LibTorch element type of `dtype`, and the wire type of a LibTorch type (throws
// Error(kInvalidInput) for a type rlrec messages do not carry).
torch::ScalarType ScalarTypeOf(DType dtype);
DType DTypeOf(torch::ScalarType type);

// A LibTorch tensor over the bytes of `view`, without copying. `owner` keeps the bytes alive
// as long as the tensor (and any tensor sharing its storage) lives. The bytes are borrowed
// read-only: callers must not write into the result.
torch::Tensor TensorFromView(const TensorView& view, std::shared_ptr<const void> owner);

// A view over a contiguous CPU tensor's bytes; valid while `tensor` lives.
TensorView ViewOfTensor(const torch::Tensor& tensor);

// The state tensors (common/data/state_tensors.h) as LibTorch tensors: unroll buffers, batches and
// policy inputs.
template <typename T>
using TorchTensor = torch::Tensor;
using TorchStates = StateTensors<TorchTensor>;

// TensorFromView and ViewOfTensor for every tensor of a state.
TorchStates TensorsFromViews(const StateViews& views, const std::shared_ptr<const void>& owner);
StateViews ViewsOfTensors(const TorchStates& tensors);

// Uninitialised state tensors for states with leading dimensions `lead`, C candidates, F
// features per row and H history entries, in the element types of kStateTensorSpecs.
TorchStates EmptyStates(const std::vector<int64_t>& lead, int64_t C, int64_t F, int64_t H);

// Pointers to the bytes of `states` (contiguous CPU tensors in the element types of
// kStateTensorSpecs), for a simulator to write into; valid while the tensors live.
ObservationBuffers PointersOf(const TorchStates& states);

// Tensors over the arrays of `buffers` (`users` states), without copying: valid while the
// arrays live.
TorchStates TensorsFromPointers(const ObservationBuffers& buffers, int64_t users, int64_t C,
                                int64_t F, int64_t H);

// Each tensor's slice `index` along its first dimension (x[index]), sharing its bytes.
TorchStates Select(const TorchStates& states, int64_t index);

// The tensors of `states` in field order, for loops over the fields by position.
std::array<torch::Tensor*, kNumStateTensors> TensorsOf(TorchStates& states);

// Each tensor of `states` concatenated along `dim` (the matching fields of every element).
TorchStates CatStates(std::vector<TorchStates> states, int64_t dim);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_TORCH_VIEWS_H_
