#include "common/run/metrics_fields.h"

namespace rlrec::common {

const MetricsField* FindMetric(const std::string& name) {
  for (const auto& field : kMetricsFields) {
    if (name == field.name) return &field;
  }
  return nullptr;
}

}  // namespace rlrec::common
