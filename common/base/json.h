#ifndef RLREC_COMMON_BASE_JSON_H_
#define RLREC_COMMON_BASE_JSON_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rlrec::common {

// Builds one flat JSON object, field by field, in insertion order. Non-finite numbers are
// written as null, which JSON can represent and NaN cannot. The numbers are also kept, as a
// reader of the JSON gets them back (6 significant digits; NaN for null), for the other sinks
// of a metrics row (TensorBoard, Prometheus).
class JsonObject {
 public:
  JsonObject& Add(const std::string& key, double value);  // 6 significant digits
  // `value` with `decimals` digits after the point (timestamps: Unix seconds to the ms).
  JsonObject& AddFixed(const std::string& key, double value, int decimals);
  JsonObject& Add(const std::string& key, int64_t value);
  JsonObject& Add(const std::string& key, uint64_t value);
  JsonObject& Add(const std::string& key, int value) { return Add(key, int64_t{value}); }
  JsonObject& Add(const std::string& key, const std::string& value);
  JsonObject& Add(const std::string& key, const char* value) {
    return Add(key, std::string(value));
  }
  std::string str() const { return body_ + "}"; }
  // Every numeric field, in insertion order, with the value its JSON text holds.
  const std::vector<std::pair<std::string, double>>& numbers() const { return numbers_; }

 private:
  void Key(const std::string& key);
  // `value` as %.6g (decimals < 0) or with `decimals` digits after the point.
  JsonObject& AddNumber(const std::string& key, double value, int decimals);
  std::string body_ = "{";
  std::vector<std::pair<std::string, double>> numbers_;
};

// Appends JSON objects, one per line, to a file (metrics.jsonl). Each line is flushed when
// written, so a reader or a crash never sees half a row. Not thread-safe.
class MetricsWriter {
 public:
  // Opens `path` for appending; throws Error(kUnavailable) if it cannot.
  explicit MetricsWriter(const std::string& path);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  // Appends `row`. Throws Error(kUnavailable) with the OS error (a full disk) when it cannot;
  // the file then ends where it did before, and the writer stays usable.
  void Write(const JsonObject& row);

 private:
  std::FILE* file_;
  std::string path_;
};

// The number stored under "key" in a flat JSON object on one line (as MetricsWriter writes
// them), or nullopt when the key is absent or its value is not a number (null included).
std::optional<double> JsonNumberField(const std::string& line, const std::string& key);

// Escapes `s` as the body of a JSON string.
std::string JsonEscape(const std::string& s);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_BASE_JSON_H_
