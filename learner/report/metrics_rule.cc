#include "learner/report/metrics_rule.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace rlrec::learner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

FieldRange RangeOf(FieldKind kind) {
  switch (kind) {
    case FieldKind::kCount:
      return {0, 9007199254740992.0};  // 2^53
    case FieldKind::kRate:
      return {0, 1e12};
    case FieldKind::kUpdates:
      return {0, 1e9};
    case FieldKind::kShare:
      return {0, 1};
    case FieldKind::kSeconds:
      return {0, 1e10};
    case FieldKind::kLoss:
    case FieldKind::kReturn:  // rows give the world's own bounds (FieldRange)
      return {-1e30, 1e30};
  }
  return {0, 0};
}

double Checked(double value, FieldRange range) {
  return std::isnan(value) || (value >= range.low && value <= range.high) ? value : kNaN;
}

CheckedRow& CheckedRow::Count(common::Metric field, uint64_t value) {
  const char* key = common::NameOf(field);
  const FieldRange range = RangeOf(FieldKind::kCount);
  if (static_cast<double>(value) > range.high) return Refuse(key, double(value), range);
  row_.Add(key, value);
  return *this;
}

CheckedRow& CheckedRow::Count(common::Metric field, int64_t value) {
  if (value < 0) return Refuse(common::NameOf(field), double(value), RangeOf(FieldKind::kCount));
  return Count(field, static_cast<uint64_t>(value));
}

CheckedRow& CheckedRow::Add(common::Metric field, double value, FieldRange range) {
  const char* key = common::NameOf(field);
  if (!std::isnan(Checked(value, range)) || std::isnan(value)) {
    row_.Add(key, value);
    return *this;
  }
  return Refuse(key, value, range);
}

CheckedRow& CheckedRow::AddFixed(common::Metric field, double value, int decimals) {
  const char* key = common::NameOf(field);
  const FieldRange range = RangeOf(common::FieldOf(field).kind);
  if (!(value >= range.low && value <= range.high)) return Refuse(key, value, range);
  row_.AddFixed(key, value, decimals);
  return *this;
}

CheckedRow& CheckedRow::Refuse(const char* key, double value, FieldRange range) {
  if (refused_) {
    std::ostringstream why;
    why << key << " " << value << " outside [" << range.low << ", " << range.high << "]";
    refused_->push_back(why.str());
  }
  row_.Add(key, kNaN);
  return *this;
}

}  // namespace rlrec::learner
