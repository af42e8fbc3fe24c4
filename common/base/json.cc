#include "common/base/json.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/base/error.h"

namespace rlrec::common {

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<double> JsonNumberField(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  auto at = line.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const char* start = line.c_str() + at + needle.size();
  char* end = nullptr;
  double value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return value;
}

void JsonObject::Key(const std::string& key) {
  if (body_.size() > 1) body_ += ",";
  body_ += "\"" + JsonEscape(key) + "\":";
}

JsonObject& JsonObject::Add(const std::string& key, double value) {
  return AddNumber(key, value, -1);
}

JsonObject& JsonObject::AddFixed(const std::string& key, double value, int decimals) {
  return AddNumber(key, value, std::clamp(decimals, 0, 9));
}

JsonObject& JsonObject::AddNumber(const std::string& key, double value, int decimals) {
  Key(key);
  // Beyond 1e300 a fixed format would not fit, and no metric is that large: null.
  if (!std::isfinite(value) || std::fabs(value) > 1e300) {
    body_ += "null";
    numbers_.emplace_back(key, std::numeric_limits<double>::quiet_NaN());
    return *this;
  }
  char buf[400];
  if (decimals < 0) {
    std::snprintf(buf, sizeof(buf), "%.6g", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  }
  body_ += buf;
  numbers_.emplace_back(key, std::strtod(buf, nullptr));
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, int64_t value) {
  Key(key);
  body_ += std::to_string(value);
  numbers_.emplace_back(key, static_cast<double>(value));
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, uint64_t value) {
  Key(key);
  body_ += std::to_string(value);
  numbers_.emplace_back(key, static_cast<double>(value));
  return *this;
}

JsonObject& JsonObject::Add(const std::string& key, const std::string& value) {
  Key(key);
  body_ += "\"" + JsonEscape(value) + "\"";
  return *this;
}

MetricsWriter::MetricsWriter(const std::string& path)
    : file_(std::fopen(path.c_str(), "a")), path_(path) {
  if (file_ == nullptr) {
    throw Unavailable("cannot open metrics file '" + path + "': " + std::strerror(errno));
  }
}

MetricsWriter::~MetricsWriter() { std::fclose(file_); }

void MetricsWriter::Write(const JsonObject& row) {
  std::string line = row.str() + "\n";
  const long before = std::ftell(file_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    const int error = errno;
    // Take back whatever part of the row reached the file, so the next row starts a line.
    std::clearerr(file_);
    if (before >= 0 && ::ftruncate(::fileno(file_), before) == 0)
      std::fseek(file_, before, SEEK_SET);
    throw Unavailable("cannot write metrics file '" + path_ + "': " + std::strerror(error));
  }
}

}  // namespace rlrec::common
