#include "learner/checkpoint_schedule.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "common/base/error.h"
#include "common/base/logging.h"
#include "learner/train/checkpoint.h"

namespace rlrec::learner {

CheckpointSchedule::CheckpointSchedule(const common::RunConfig::Run& run,
                                       const common::RunDir& run_dir,
                                       std::optional<uint64_t> saved_at,
                                       common::Clock::time_point now)
    : every_updates_(run.checkpoint_every),
      every_s_(60 * run.checkpoint_minutes),
      keep_(run.keep_checkpoints),
      dir_(run_dir.checkpoints()),
      final_(run_dir.final_checkpoint()),
      saved_at_(saved_at),
      last_(now) {}

bool CheckpointSchedule::Due(uint64_t updates, common::Clock::time_point now) const {
  return (every_updates_ > 0 && updates % every_updates_ == 0) ||
         (every_s_ > 0 && std::chrono::duration<double>(now - last_).count() >= every_s_);
}

std::string CheckpointSchedule::Save(uint64_t updates,
                                     const std::function<void(const std::string& path)>& save,
                                     common::Clock::time_point now) {
  Finish();  // a background write of this very checkpoint may be under way
  const std::string path = CheckpointPath(dir_, updates);
  if (saved_at_ != updates || !std::filesystem::exists(path)) {
    save(path);
    saved_at_ = updates;
    PruneCheckpoints(dir_, keep_);
  }
  last_ = now;
  return path;
}

std::optional<std::string> CheckpointSchedule::TrySave(
    uint64_t updates, const std::function<void(const std::string& path)>& save,
    common::Clock::time_point now) {
  try {
    return Save(updates, save, now);
  } catch (const std::exception& e) {
    Failed(updates, e.what(), now);
    return std::nullopt;
  }
}

void CheckpointSchedule::Failed(uint64_t updates, const std::string& why,
                                common::Clock::time_point now) {
  ++failed_;
  last_ = now;
  if (log_limiter_.Allow(now)) {
    RLREC_LOG(Error) << "checkpoint of update " << updates << " failed (" << failed_
                     << " so far; the previous checkpoints stay, the next is tried at the next "
                        "interval): "
                     << why;
  }
}

bool CheckpointSchedule::StartSave(uint64_t updates,
                                   const std::function<void(const std::string& path)>& save,
                                   common::Clock::time_point now) {
  Finish();  // one write at a time
  const std::string path = CheckpointPath(dir_, updates);
  last_ = now;
  if (saved_at_ == updates && std::filesystem::exists(path)) return false;
  try {
    background_.Start([&] { save(path); });
  } catch (const std::exception& e) {
    Failed(updates, e.what(), now);
    return false;
  }
  background_updates_ = updates;
  return true;
}

void CheckpointSchedule::Handle(const ForkedTask::Outcome& outcome) {
  const std::string path = CheckpointPath(dir_, background_updates_);
  last_pause_s_ = outcome.fork_seconds;
  if (!outcome.ok) {
    Failed(background_updates_, outcome.error, common::Clock::now());
    return;
  }
  saved_at_ = background_updates_;
  PruneCheckpoints(dir_, keep_);
  RLREC_LOG(Info) << "checkpoint " << path << " written in the background in " << outcome.seconds
                  << " s; training paused " << outcome.fork_seconds << " s for it (the fork)";
}

void CheckpointSchedule::Poll() {
  if (auto outcome = background_.Poll()) Handle(*outcome);
}

void CheckpointSchedule::Finish() {
  if (auto outcome = background_.Wait(common::After(common::kMaxWaitSeconds))) Handle(*outcome);
}

void CheckpointSchedule::MarkFinal(const std::string& path) const {
  const std::string temporary = final_ + ".tmp";
  std::error_code ec;
  std::filesystem::remove(temporary, ec);
  std::filesystem::create_hard_link(path, temporary, ec);
  if (ec) {
    ec.clear();
    std::filesystem::copy_file(path, temporary, ec);
  }
  if (!ec) std::filesystem::rename(temporary, final_, ec);
  if (ec) {
    throw common::Unavailable("cannot make '" + final_ + "' the checkpoint '" + path +
                              "': " + ec.message());
  }
}

void CheckpointSchedule::AfterUpdate(uint64_t updates,
                                     const std::function<void(const std::string& path)>& save,
                                     bool in_background) {
  Poll();
  if (!Due(updates)) return;
  if (in_background) {
    StartSave(updates, save);
  } else {
    TrySave(updates, save);
  }
}

FinalCheckpoint CheckpointSchedule::SaveFinal(
    uint64_t updates, const std::function<void(const std::string& path)>& save) {
  FinalCheckpoint out;
  if (const std::optional<std::string> path = TrySave(updates, save)) {
    out = {true, final_, updates};
    try {
      MarkFinal(*path);
    } catch (const common::Error& e) {
      out.path = *path;
      RLREC_LOG(Error) << e.what() << "; the final checkpoint is " << *path;
    }
    return out;
  }
  const auto remaining = common::ListCheckpoints(dir_);
  if (!remaining.empty()) out = {false, remaining.back().path, remaining.back().update};
  RLREC_LOG(Error) << "the final checkpoint (update " << updates << ") could not be written; "
                   << (remaining.empty() ? "no checkpoint remains in " + dir_
                                         : "the newest that remains is " + out.path + " (update " +
                                               std::to_string(out.update) + ")");
  return out;
}

double CheckpointSchedule::NewestAge() const {
  const auto checkpoints = common::ListCheckpoints(dir_);
  if (checkpoints.empty()) return std::numeric_limits<double>::quiet_NaN();
  double age = checkpoints.front().age_s;
  for (const auto& c : checkpoints) age = std::min(age, c.age_s);
  return age;
}

}  // namespace rlrec::learner
