#ifndef RLREC_LEARNER_REPORT_METRICS_RULE_H_
#define RLREC_LEARNER_REPORT_METRICS_RULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/json.h"

namespace rlrec::learner {

// The one rule every number the learner reports passes before it reaches any sink (the
// progress line, metrics.jsonl, TensorBoard, Prometheus): each value lies within the range of
// its kind, or it is refused (no value: null in JSON, NaN in a gauge) and named. Non-finite
// values and values no run can produce (a negative count, a rate beyond any machine, a mean
// return beyond what the world can pay) never get written. NaN means "no value" (a window
// without updates) and passes as it is.
enum class FieldKind {
  kCount,    // counts, versions and lags: [0, 2^53], exact in a double
  kRate,     // per second, of environment steps: [0, 1e12]
  kUpdates,  // updates per second: [0, 1e9]
  kShare,    // of a window's time: [0, 1]
  kSeconds,  // durations and Unix times: [0, 1e10]
  kLoss,     // loss terms and mean_rho: [-1e30, 1e30]
};

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

  CheckedRow& Count(const char* key, uint64_t value);
  CheckedRow& Count(const char* key, int64_t value);
  CheckedRow& Count(const char* key, int value) { return Count(key, int64_t{value}); }
  CheckedRow& Add(const char* key, double value, FieldKind kind) {
    return Add(key, value, RangeOf(kind));
  }
  CheckedRow& Add(const char* key, double value, FieldRange range);
  // `value` with `decimals` digits after the point, within `kind`'s range.
  CheckedRow& AddFixed(const char* key, double value, int decimals, FieldKind kind);

  // The row built; the builder is empty afterwards.
  common::JsonObject Take() { return std::move(row_); }

 private:
  CheckedRow& Refuse(const char* key, double value, FieldRange range);

  common::JsonObject row_;
  std::vector<std::string>* refused_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_REPORT_METRICS_RULE_H_
