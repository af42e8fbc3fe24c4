#include "common/data/snapshot_blob.h"

namespace rlrec::common {

size_t ParamSpec::bytes() const {
  size_t n = DTypeSize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace rlrec::common
