#ifndef RLREC_COMMON_METRICS_H_
#define RLREC_COMMON_METRICS_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace rlrec::common {

// Builds one flat JSON object, field by field, in insertion order. Non-finite numbers are
// written as null, which JSON can represent and NaN cannot.
class JsonObject {
 public:
  JsonObject& Add(const std::string& key, double value);
  JsonObject& Add(const std::string& key, int64_t value);
  JsonObject& Add(const std::string& key, uint64_t value);
  JsonObject& Add(const std::string& key, int value) { return Add(key, int64_t{value}); }
  JsonObject& Add(const std::string& key, const std::string& value);
  JsonObject& Add(const std::string& key, const char* value) {
    return Add(key, std::string(value));
  }
  std::string str() const { return body_ + "}"; }

 private:
  void Key(const std::string& key);
  std::string body_ = "{";
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

#endif  // RLREC_COMMON_METRICS_H_
