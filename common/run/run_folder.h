#ifndef RLREC_COMMON_RUN_RUN_FOLDER_H_
#define RLREC_COMMON_RUN_RUN_FOLDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config_keys.h"

namespace rlrec::common {

// The files of a run folder, each named once (kRunFiles); programs reach them through
// RunDir, scripts through `rlrec run-dir-layout`.
enum class RunFile {
  kConfig,
  kMetrics,
  kCheckpoints,
  kFinalCheckpoint,
  kPorts,
  kControlEndpoint,
  kLock,
  kCurveKeys,
  kCurveClientKeys,
  kLogs,
  kLearnerLog,
  kActorLog,
  kLearnersLog,
  kActorsLog,
  kPlotLog,
  kCurves,
  kCurvesData,
  kCurvesScript,
  kTensorBoard,
  kActors,
  kActorsPrevious,
  kMetricsEndpoint,
};

// One file or folder of a run folder: `path` relative to the run folder ("{id}" stands for
// an actor id), `shell_name` its variable in `rlrec run-dir-layout` (RLREC_RUN_<shell_name>),
// `what` it holds.
struct RunFileSpec {
  RunFile file;
  const char* shell_name;
  const char* path;
  const char* what;
};

inline constexpr RunFileSpec kRunFiles[] = {
    {RunFile::kConfig, "CONFIG", "config.ini",
     "the effective configuration: every key with the value the run used"},
    {RunFile::kMetrics, "METRICS", "metrics.jsonl", "one JSON object per progress report"},
    {RunFile::kCheckpoints, "CHECKPOINTS", "checkpoints", "ckpt-<updates>.pt checkpoints"},
    {RunFile::kFinalCheckpoint, "FINAL_CHECKPOINT", "checkpoints/final.pt",
     "the last checkpoint, under a name that stays"},
    {RunFile::kPorts, "PORTS", "ports", "the ports the learners bound, reused on resume"},
    {RunFile::kControlEndpoint, "CONTROL_ENDPOINT", "control.endpoint",
     "the lead learner's control endpoint, present while it runs"},
    {RunFile::kLock, "LOCK", "learner.lock",
     "locked by the lead learner while it runs (no second learner on one folder); says who"},
    {RunFile::kCurveKeys, "CURVE_KEYS", "curve.keys",
     "the run's CURVE keys, server and client (owner-only; learners)"},
    {RunFile::kCurveClientKeys, "CURVE_CLIENT_KEYS", "curve-client.keys",
     "the keys actors connect with: transport.key_file (owner-only)"},
    {RunFile::kLogs, "LOGS", "logs", "the programs' logs"},
    {RunFile::kLearnerLog, "LEARNER_LOG", "logs/learner.log", "the learner's output (rlrec train)"},
    {RunFile::kActorLog, "ACTOR_LOG", "logs/actor-{id}.log", "each actor's output (rlrec train)"},
    {RunFile::kLearnersLog, "LEARNERS_LOG", "logs/learners.log",
     "every learner rank's output (mpirun, Slurm)"},
    {RunFile::kActorsLog, "ACTORS_LOG", "logs/actors.log", "every actor's output (mpirun, Slurm)"},
    {RunFile::kPlotLog, "PLOT_LOG", "logs/plot.log", "gnuplot's output"},
    {RunFile::kCurves, "CURVES", "curves.png", "return, losses, lag and throughput curves"},
    {RunFile::kCurvesData, "CURVES_DATA", "curves.tsv", "the curves' data"},
    {RunFile::kCurvesScript, "CURVES_SCRIPT", "curves.gp", "the curves' gnuplot script"},
    {RunFile::kTensorBoard, "TENSORBOARD", "tb",
     "TensorBoard event files, the same values as metrics.jsonl (tensorboard --logdir)"},
    {RunFile::kActors, "ACTORS", "actors.jsonl",
     "one JSON object per actor report: id, host, pid, env steps/s, snapshot, lag, last seen"},
    {RunFile::kActorsPrevious, "ACTORS_PREVIOUS", "actors.jsonl.1",
     "actors.jsonl's older rows, moved aside when it passed run.actors_log_mb"},
    {RunFile::kMetricsEndpoint, "METRICS_ENDPOINT", "metrics.endpoint",
     "the lead learner's Prometheus address (http://host:port/metrics), while it serves one"},
};

// The path of `file` relative to a run folder, as kRunFiles has it.
inline const char* RunFilePath(RunFile file) {
  for (const auto& spec : kRunFiles) {
    if (spec.file == file) return spec.path;
  }
  return "";
}

// A run folder: where every file of a run goes. Cheap to copy; does not touch the disk unless
// a method says so. Thread-compatible.
class RunDir {
 public:
  explicit RunDir(std::string path);
  // The folder `config` names: run.runs_root/run.name, or a dated name when run.name is empty
  // ("run-20261128-154501").
  static RunDir ForConfig(const RunConfig& config);

  const std::string& path() const { return path_; }
  // The path of `file` in this folder; kActorLog takes the actor's id.
  std::string Path(RunFile file, int actor_id = 0) const;

  std::string config() const { return Path(RunFile::kConfig); }
  std::string metrics() const { return Path(RunFile::kMetrics); }
  std::string checkpoints() const { return Path(RunFile::kCheckpoints); }
  std::string final_checkpoint() const { return Path(RunFile::kFinalCheckpoint); }
  std::string ports() const { return Path(RunFile::kPorts); }
  std::string control_endpoint() const { return Path(RunFile::kControlEndpoint); }
  std::string lock() const { return Path(RunFile::kLock); }
  std::string curve_keys() const { return Path(RunFile::kCurveKeys); }
  std::string curve_client_keys() const { return Path(RunFile::kCurveClientKeys); }
  std::string logs() const { return Path(RunFile::kLogs); }
  std::string learner_log() const { return Path(RunFile::kLearnerLog); }
  std::string tensorboard() const { return Path(RunFile::kTensorBoard); }
  std::string actors() const { return Path(RunFile::kActors); }
  std::string actors_previous() const { return Path(RunFile::kActorsPrevious); }
  std::string metrics_endpoint() const { return Path(RunFile::kMetricsEndpoint); }
  std::string actor_log(int id) const { return Path(RunFile::kActorLog, id); }

  // The run's id: the folder's own name.
  std::string run_id() const;
  // True when the folder holds a run already (its metrics exist).
  bool HoldsRun() const;
  // Writes config.ini from `config` (creating the folder), atomically: readers see the old
  // file or the new one. Throws Error(kUnavailable) when it cannot.
  void WriteConfig(const RunConfig& config) const;
  // The first line of the control endpoint file, or "" while there is none.
  std::string ReadControlEndpoint() const;

  // The config.ini of the run that a checkpoint at RUN/checkpoints/X.pt belongs to.
  static std::string ConfigOfCheckpoint(const std::string& checkpoint);

 private:
  std::string path_;
};

// The lock of a run folder, held by its lead learner from start to exit: a second learner on
// the same folder is refused, naming the holder, before it writes anything. An advisory lock
// (flock) that the kernel releases when the holder exits, however it exits. Not copyable.
class RunDirLock {
 public:
  // Creates the folder if need be and takes its lock. Throws Error(kInvalidInput) naming the
  // process that holds it (pid, host, since when), Error(kUnavailable) when the lock file
  // cannot be opened.
  explicit RunDirLock(const RunDir& run_dir);
  ~RunDirLock();
  // Throws as the constructor does when another process holds the lock now; for a launcher
  // that checks before it writes into the folder and starts the learner that takes the lock.
  static void CheckFree(const RunDir& run_dir) { RunDirLock probe(run_dir); }
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  int fd_ = -1;
};

// The layout as shell assignments, one per file: RLREC_RUN_CONFIG=config.ini, ...
std::string RunDirLayoutForShell();

// Reading a run folder's files while a run may be writing them (rlrec status, the learner's
// checkpoint age), locally or on a shared filesystem.

// A checkpoint file ckpt-<update>.pt.
struct CheckpointFile {
  std::string path;
  uint64_t update = 0;
  uint64_t bytes = 0;
  double age_s = 0;  // since it was last modified
};

// The ckpt-<update>.pt files in `dir`, by update, oldest first; none when `dir` is missing.
std::vector<CheckpointFile> ListCheckpoints(const std::string& dir);

// The complete lines (those ending in a newline) within the last `max_bytes` of the file at
// `path`, oldest first: the newest rows of a large JSON-lines file without reading it all.
// None when the file is missing. A first line cut by the byte limit is left out.
std::vector<std::string> TailLines(const std::string& path, size_t max_bytes = 1 << 20);

// Seconds since the file at `path` was last modified, or a negative number when it is missing.
double FileAgeSeconds(const std::string& path);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_RUN_FOLDER_H_
