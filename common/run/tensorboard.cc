#include "common/run/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/base/error.h"
#include "common/base/logging.h"
#include "common/run/metrics_fields.h"

#ifdef RLREC_HAVE_TENSORBOARD
#include "common/run/tensorboard_event.pb.h"
#endif

namespace rlrec::common {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kCastagnoli = 0x82f63b78u;  // CRC-32C's polynomial, bits reversed

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCastagnoli : c >> 1;
    table[i] = c;
  }
  return table;
}

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads a JSON string starting at s[*at] == '"'; leaves *at past its closing quote.
std::string ReadJsonString(const std::string& s, size_t* at) {
  std::string out;
  for (++*at; *at < s.size() && s[*at] != '"'; ++*at) {
    if (s[*at] == '\\' && *at + 1 < s.size()) ++*at;
    out += s[*at];
  }
  if (*at >= s.size()) throw InvalidInput("metrics row: unterminated string");
  ++*at;
  return out;
}

std::string EventFileName() {
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  // Files sort by name in the order they were made (TensorBoard reads them in that order).
  static std::atomic<int> made{0};
  char sequence[16];
  std::snprintf(sequence, sizeof(sequence), "%04d", made++ % 10000);
  return "events.out.tfevents." + std::to_string(seconds) + "." + host + "." +
         std::to_string(::getpid()) + "." + sequence + ".rlrec";
}

#ifdef RLREC_HAVE_TENSORBOARD
std::string EventRecord(const tensorboard::Event& event) {
  return FrameRecord(event.SerializeAsString());
}

std::string FileVersionRecord() {
  tensorboard::Event event;
  event.set_wall_time(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  event.set_file_version("brain.Event:2");
  return EventRecord(event);
}

std::string ScalarsRecord(const ScalarRow& row) {
  tensorboard::Event event;
  event.set_wall_time(row.wall_time);
  event.set_step(row.step);
  auto* summary = event.mutable_summary();
  for (const auto& [field, value] : row.values) {
    const std::string tag = TensorBoardTag(field);
    if (tag.empty() || std::isnan(value)) continue;
    auto* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return EventRecord(event);
}
#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

uint32_t MaskedCrc32c(const void* data, size_t size) {
  const uint32_t crc = Crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string FrameRecord(const std::string& payload) {
  std::string out;
  PutLittleEndian(payload.size(), 8, &out);
  PutLittleEndian(MaskedCrc32c(out.data(), 8), 4, &out);
  out += payload;
  PutLittleEndian(MaskedCrc32c(payload.data(), payload.size()), 4, &out);
  return out;
}

std::string TensorBoardTag(const std::string& field) {
  const MetricsField* known = FindMetric(field);
  if (!known) return "run/" + field;  // a field of a newer rlrec: still plotted
  if (*known->group == '\0') return "";
  return std::string(known->group) + "/" + field;
}

ScalarRow ScalarRowOfJson(const std::string& line) {
  ScalarRow row;
  size_t at = line.find('{');
  if (at == std::string::npos) throw InvalidInput("metrics row: not a JSON object");
  ++at;
  const auto skip_space = [&] {
    while (at < line.size() && std::isspace(static_cast<unsigned char>(line[at]))) ++at;
  };
  while (true) {
    skip_space();
    if (at < line.size() && line[at] == '}') break;
    if (at >= line.size() || line[at] != '"') throw InvalidInput("metrics row: expected a key");
    const std::string key = ReadJsonString(line, &at);
    skip_space();
    if (at >= line.size() || line[at] != ':') throw InvalidInput("metrics row: expected ':'");
    ++at;
    skip_space();
    if (at < line.size() && line[at] == '"') {
      ReadJsonString(line, &at);  // text fields are not plotted
    } else if (line.compare(at, 4, "null") == 0) {
      row.values.emplace_back(key, std::numeric_limits<double>::quiet_NaN());
      at += 4;
    } else {
      char* end = nullptr;
      const double value = std::strtod(line.c_str() + at, &end);
      if (end == line.c_str() + at) throw InvalidInput("metrics row: bad value of '" + key + "'");
      at = end - line.c_str();
      row.values.emplace_back(key, value);
      if (key == NameOf(Metric::kUpdate)) row.step = static_cast<int64_t>(value);
      if (key == NameOf(Metric::kWallTime)) row.wall_time = value;
    }
    skip_space();
    if (at < line.size() && line[at] == ',') ++at;
  }
  return row;
}

ScalarRow ScalarRowOf(const JsonObject& json) {
  ScalarRow row;
  row.values = json.numbers();
  for (const auto& [field, value] : row.values) {
    if (field == NameOf(Metric::kUpdate)) row.step = static_cast<int64_t>(value);
    if (field == NameOf(Metric::kWallTime)) row.wall_time = value;
  }
  return row;
}

std::vector<ScalarRow> SurvivingRows(const std::vector<std::string>& lines, int64_t resumed_at) {
  std::vector<ScalarRow> kept;
  for (const auto& line : lines) {
    ScalarRow row;
    try {
      row = ScalarRowOfJson(line);
    } catch (const Error&) {
      continue;  // a torn or foreign line: nothing to plot
    }
    if (!kept.empty() && kept.back().step == row.step) continue;  // the first row wins
    if (!kept.empty() && kept.back().step > row.step) {
      // A resumed segment: it replaces what was kept from its update on.
      while (!kept.empty() && kept.back().step >= row.step) kept.pop_back();
    }
    kept.push_back(std::move(row));
  }
  if (resumed_at >= 0) {
    while (!kept.empty() && kept.back().step > resumed_at) kept.pop_back();
  }
  return kept;
}

bool TensorBoardWriter::Available() {
#ifdef RLREC_HAVE_TENSORBOARD
  return true;
#else
  return false;
#endif
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir,
                                     const std::vector<ScalarRow>& history) {
  static_cast<void>(history);  // written below only with protobuf
  if (!Available()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Unavailable("cannot make TensorBoard folder '" + dir + "': " + ec.message());
  const std::string name = EventFileName();
  path_ = dir + "/" + name;
  // Written under a name TensorBoard ignores, then renamed: it never reads half a history.
  const std::string partial = dir + "/.partial-" + name;
  file_ = std::fopen(partial.c_str(), "wb");
  if (!file_) {
    throw Unavailable("cannot write TensorBoard file '" + partial + "': " + std::strerror(errno));
  }
  try {
#ifdef RLREC_HAVE_TENSORBOARD
    Append(FileVersionRecord());
    for (const auto& row : history) Append(ScalarsRecord(row));
    if (!history.empty()) last_step_ = history.back().step;
#endif
  } catch (...) {
    std::fclose(file_);
    file_ = nullptr;
    fs::remove(partial, ec);
    throw;
  }
  fs::rename(partial, path_, ec);
  if (ec) {
    std::fclose(file_);
    file_ = nullptr;
    throw Unavailable("cannot rename '" + partial + "': " + ec.message());
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string other = entry.path().filename().string();
    if (other != name && other.find("tfevents") != std::string::npos) fs::remove(entry.path(), ec);
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::Write(const ScalarRow& row) {
#ifdef RLREC_HAVE_TENSORBOARD
  if (!file_ || row.step <= last_step_) return;
  Append(ScalarsRecord(row));
  last_step_ = row.step;
#else
  (void)row;
#endif
}

void TensorBoardWriter::Append(const std::string& record) {
  const long before = std::ftell(file_);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    const int error = errno;
    // Take back the part of the record that reached the file: a reader sees whole records.
    std::clearerr(file_);
    if (before >= 0 && ::ftruncate(::fileno(file_), before) == 0) {
      std::fseek(file_, before, SEEK_SET);
    }
    throw Unavailable("cannot write TensorBoard file '" + path_ + "': " + std::strerror(error));
  }
}

}  // namespace rlrec::common
