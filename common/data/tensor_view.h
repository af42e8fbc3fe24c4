#ifndef RLREC_COMMON_DATA_TENSOR_VIEW_H_
#define RLREC_COMMON_DATA_TENSOR_VIEW_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rlrec::common {

// Element types that travel in rlrec messages. Values match wire::DType.
enum class DType : uint8_t { kFloat32 = 0, kInt32 = 1, kUInt8 = 2, kInt64 = 3 };

// Bytes per element of `dtype`.
size_t DTypeSize(DType dtype);
// "float32", "int32", ...
const char* DTypeName(DType dtype);

// A dense row-major tensor that does not own its bytes: the producer (a message, a LibTorch
// tensor, a buffer) keeps them alive and says for how long. Free of LibTorch on purpose,
// so transport and codecs build without it.
struct TensorView {
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t bytes = 0;

  int64_t numel() const;
  // "float32[20, 32, 11, 21]", for error messages.
  std::string Describe() const;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_TENSOR_VIEW_H_
