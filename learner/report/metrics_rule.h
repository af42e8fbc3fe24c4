#ifndef RLREC_LEARNER_REPORT_METRICS_RULE_H_
#define RLREC_LEARNER_REPORT_METRICS_RULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "common/run/metrics_fields.h"

namespace rlrec::learner {

// The one rule every number the learner reports passes before it reaches any sink (the
// progress line, metrics.jsonl, TensorBoard, Prometheus): each value lies within the range of
// its kind, or it is refused (no value: null in JSON, NaN in a gauge) and named. Non-finite
// values and values no run can produce (a negative count, a rate beyond any machine, a mean
// return beyond what the world can pay) never get written. NaN means "no value" (a window
// without updates) and passes as it is.
using common::FieldKind;  // common/run/metrics_fields.h

// The values `kind` allows: [low, high].
struct FieldRange {
  double low, high;
};
FieldRange RangeOf(FieldKind kind);

// `value` if it is NaN or lies in `range`, else NaN.
double Checked(double value, FieldRange range);
inline double Checked(double value, FieldKind kind) { return Checked(value, RangeOf(kind)); }

// A metrics row built by the rule: a field within its range is added as it is, NaN as null;
// any other value is refused, added as null and named in `refused` (when not null) as
// "mean_return 3.4e+36 outside [0, 2751]". Not thread-safe.
class CheckedRow {
 public:
  explicit CheckedRow(std::vector<std::string>* refused) : refused_(refused) {}

  // A count (a kCount field), written as an integer.
  CheckedRow& Count(common::Metric field, uint64_t value);
  CheckedRow& Count(common::Metric field, int64_t value);
  CheckedRow& Count(common::Metric field, int value) { return Count(field, int64_t{value}); }
  // A number within its field's kind's range.
  CheckedRow& Add(common::Metric field, double value) {
    return Add(field, value, RangeOf(common::FieldOf(field).kind));
  }
  // A number within `range` (a kReturn field: what the run's world can pay).
  CheckedRow& Add(common::Metric field, double value, FieldRange range);
  // `value` with `decimals` digits after the point, within its field's kind's range.
  CheckedRow& AddFixed(common::Metric field, double value, int decimals);

  // The row built; the builder is empty afterwards.
  common::JsonObject Take() { return std::move(row_); }

 private:
  CheckedRow& Refuse(const char* key, double value, FieldRange range);

  common::JsonObject row_;
  std::vector<std::string>* refused_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_REPORT_METRICS_RULE_H_
