#ifndef RLREC_LEARNER_CHECKPOINT_SCHEDULE_H_
#define RLREC_LEARNER_CHECKPOINT_SCHEDULE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/base/deadline.h"
#include "common/base/logging.h"
#include "common/config/config_keys.h"
#include "common/run/run_folder.h"
#include "learner/forked_task.h"

namespace rlrec::learner {

// What a run's last checkpoint came to: the final checkpoint (checkpoints/final.pt) and its
// update when it was written; otherwise the newest checkpoint that remains ("" when none).
struct FinalCheckpoint {
  bool written = false;
  std::string path;
  uint64_t update = 0;
};

// When the lead learner checkpoints, and which checkpoints it keeps: one every
// run.checkpoint_every updates and every run.checkpoint_minutes minutes (0 turns either off)
// and one at the end; the newest run.keep_checkpoints of the folder stay, and the last is
// also checkpoints/final.pt, a name that stays. Not thread-safe.
class CheckpointSchedule {
 public:
  // Checkpoints go to run_dir's checkpoint folder. `saved_at`: the update of a checkpoint
  // already there (a resumed run's), which Save does not write again. The minute clock starts
  // at `now`.
  CheckpointSchedule(const common::RunConfig::Run& run, const common::RunDir& run_dir,
                     std::optional<uint64_t> saved_at,
                     common::Clock::time_point now = common::Clock::now());

  // Whether a checkpoint is due after update `updates` at `now`.
  bool Due(uint64_t updates, common::Clock::time_point now = common::Clock::now()) const;

  // Writes the checkpoint of update `updates` with `save(path)`, unless this schedule saved
  // (or found) that one already and the file is still there; deletes all but the newest
  // keep_checkpoints; restarts the minute clock. Returns the checkpoint's path.
  std::string Save(uint64_t updates, const std::function<void(const std::string& path)>& save,
                   common::Clock::time_point now = common::Clock::now());

  // Save, but a checkpoint that cannot be written (a full disk, a non-finite parameter) is
  // logged with its reason and counted in failed(), the previous checkpoints stay, and the
  // next one is due at the next interval as usual. Returns the path, or nullopt on failure.
  std::optional<std::string> TrySave(uint64_t updates,
                                     const std::function<void(const std::string& path)>& save,
                                     common::Clock::time_point now = common::Clock::now());
  // Checkpoints TrySave or StartSave could not write.
  uint64_t failed() const { return failed_; }

  // TrySave in the background: `save(path)` runs in a forked child (learner/forked_task.h) on a
  // copy-on-write view of this process, so training pauses only for the fork. A write still
  // under way is waited for first. Its end (pruning, or a failure logged and counted) is
  // handled by Poll, or by Finish. For weights in this process's memory (a CPU learner). Returns
  // whether a write started.
  bool StartSave(uint64_t updates, const std::function<void(const std::string& path)>& save,
                 common::Clock::time_point now = common::Clock::now());
  // Handles the end of a background write, if it ended. Cheap: call after every update.
  void Poll();
  // Waits for a background write to end and handles it (before a final checkpoint).
  void Finish();
  // The last background write's pause of training (the fork) and duration, in seconds.
  double last_pause_s() const { return last_pause_s_; }

  // After update `updates`: handles a background write that ended, and writes the checkpoint
  // when one is due, in the background (StartSave: weights in this process's memory, which a
  // forked copy-on-write view holds) or, for weights on a device, here (TrySave).
  void AfterUpdate(uint64_t updates, const std::function<void(const std::string& path)>& save,
                   bool in_background);
  // Writes the checkpoint of `updates` (TrySave) and makes it final.pt, saying in the log what
  // is true afterwards: the final checkpoint, or that it could not be written and which
  // checkpoint is the newest that remains.
  FinalCheckpoint SaveFinal(uint64_t updates,
                            const std::function<void(const std::string& path)>& save);
  // Seconds since the newest checkpoint of the folder was written; NaN when there is none.
  double NewestAge() const;

  // Makes final.pt the checkpoint at `path` (a hard link where the filesystem allows, a copy
  // otherwise), replacing the previous final.pt atomically. Throws Error(kUnavailable) when it
  // cannot.
  void MarkFinal(const std::string& path) const;

 private:
  const uint64_t every_updates_;  // 0: not by updates
  const double every_s_;          // 0: not by time
  const int keep_;
  const std::string dir_;
  const std::string final_;
  std::optional<uint64_t> saved_at_;
  common::Clock::time_point last_;
  uint64_t failed_ = 0;
  ForkedTask background_;
  uint64_t background_updates_ = 0;  // the update of the checkpoint background_ writes
  double last_pause_s_ = 0;
  // Logs a failed checkpoint of update `updates` (rate-limited) and counts it.
  void Failed(uint64_t updates, const std::string& why, common::Clock::time_point now);
  void Handle(const ForkedTask::Outcome& outcome);
  common::LogLimiter log_limiter_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_CHECKPOINT_SCHEDULE_H_
