#ifndef RLREC_COMMON_RUN_TENSORBOARD_H_
#define RLREC_COMMON_RUN_TENSORBOARD_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/base/json.h"

namespace rlrec::common {

// TensorBoard event files, written by the lead learner into RUN_DIR/tb/: one event per
// metrics row, its step the row's update, every numeric field a scalar (TensorBoardTag).

// A metrics row as TensorBoard gets it: its step, wall time and named values.
struct ScalarRow {
  int64_t step = 0;
  double wall_time = 0;  // seconds since the Unix epoch
  std::vector<std::pair<std::string, double>> values;
};

// CRC-32C (Castagnoli) of `size` bytes at `data`, and the masked form the record framing
// stores: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t Crc32c(const void* data, size_t size);
uint32_t MaskedCrc32c(const void* data, size_t size);

// One record as an event file frames it: the payload's length (8 bytes, little-endian), the
// masked CRC-32C of those 8 bytes, the payload, the masked CRC-32C of the payload.
std::string FrameRecord(const std::string& payload);

// The tag of metrics field `field` in TensorBoard: grouped as train/, throughput/, lag/,
// actors/, learner/ or errors/ ("policy_loss" -> "train/policy_loss"); empty for the fields
// that are not plotted (update, which is the step, wall_time and final).
std::string TensorBoardTag(const std::string& field);

// The row of one metrics.jsonl line: numeric fields only, null as NaN; step from "update",
// wall time from "wall_time". Throws Error(kInvalidInput) for a line that is not a flat JSON
// object.
ScalarRow ScalarRowOfJson(const std::string& line);

// The rows of a resumed run's metrics.jsonl lines that TensorBoard should show, each update
// once: a row whose update equals the last one kept is skipped (a final row after a report at
// the same update; TensorBoardWriter::Write skips it too), one whose update is below it
// replaces the kept rows from its update on (a resumed segment supersedes what the crashed
// one did past its checkpoint), and
// with `resumed_at` >= 0 rows past that update are left out (the updates the resume redoes).
// Lines that are not rows are skipped.
std::vector<ScalarRow> SurvivingRows(const std::vector<std::string>& lines, int64_t resumed_at);

// The row of a metrics row as it was built (JsonObject::numbers, as written to metrics.jsonl).
ScalarRow ScalarRowOf(const JsonObject& row);

// Appends events to one event file in a folder. Not thread-safe.
class TensorBoardWriter {
 public:
  // Starts a new event file in `dir` (created if missing) holding `history` first, and
  // removes the folder's other event files once it is in place: a resumed run's curves
  // continue without duplicated steps. Throws Error(kUnavailable) when the folder or file
  // cannot be written.
  explicit TensorBoardWriter(const std::string& dir, const std::vector<ScalarRow>& history = {});
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Appends the event of `row` (NaN values and untagged fields left out) and flushes it,
  // unless its step is not above the last event's (each step once, the first row kept).
  // Throws Error(kUnavailable) with the OS error (a full disk); the file then ends at its
  // last whole record and the writer stays usable.
  void Write(const ScalarRow& row);

  const std::string& path() const { return path_; }
  // Whether this build writes event files (built with protobuf); when not, Write does nothing.
  static bool Available();

 private:
  void Append(const std::string& record);

  std::FILE* file_ = nullptr;
  std::string path_;
  int64_t last_step_ = -1;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_TENSORBOARD_H_
