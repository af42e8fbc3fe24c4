#ifndef RLREC_LEARNER_REPORT_PROGRESS_REPORT_H_
#define RLREC_LEARNER_REPORT_PROGRESS_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/base/deadline.h"
#include "common/base/json.h"
#include "common/base/logging.h"
#include "common/config/config_keys.h"
#include "common/run/bottleneck.h"
#include "learner/ranks/rank_report.h"
#include "learner/report/actor_health.h"
#include "learner/report/metrics_rule.h"
#include "learner/train/checkpoint.h"
#include "learner/train/loss.h"

namespace rlrec::learner {

// How the lead learner reports progress: one metrics.jsonl row and one progress line per
// report, about the window of updates since the previous one.

// What happened in one report window.
struct ReportWindow {
  common::Clock::time_point start;
  uint64_t env_steps_at_start = 0;
  uint64_t updates_at_start = 0;
  int loss_count = 0;  // updates, whose loss terms are summed below
  double policy_loss = 0, value_loss = 0, entropy = 0, total_loss = 0, rho_sum = 0;
  double return_sum = 0;  // of the sessions that ended
  uint64_t episodes = 0;
  uint64_t lag_min = std::numeric_limits<uint64_t>::max(), lag_max = 0;  // of trained batches
  double lag_sum = 0;
  uint64_t lag_count = 0;
  double wait_s = 0;     // the learner had no batch to train: waiting for trajectories
  double compute_s = 0;  // inside updates (forward, backward, exchange, step)
  double publish_s = 0;  // publishing snapshots, answering control, reports and checkpoints
  double intake_busy_at_start = 0;  // RunTotals::intake_busy_s when the window began
};

// The run as of a report: counters and totals since its start.
struct RunTotals {
  double time_s = 0;  // since the learner started training
  TrainingCounters counters;
  uint64_t trajectories_received = 0, decode_errors = 0, dropped_stale = 0;
  uint64_t future_versions = 0;     // trajectories of snapshots never published (BatchIntake)
  uint64_t skipped_updates = 0;     // updates that left the weights unchanged (GuardedUpdate)
  uint64_t failed_checkpoints = 0;  // checkpoints that could not be written
  uint64_t actors_seen = 0;
  int learner_ranks = 1;
  double intake_busy_s = 0;  // the lead's intake thread, since the start (IntakeThread::busy_s)
  ActorsSummary actors;      // from the actors' reports (ActorHealth::Check)
  double checkpoint_age_s = std::numeric_limits<double>::quiet_NaN();  // since the last one
};

// Where the window's time went: the learner's shares, and its actors' from their reports.
common::TimeShares SharesOf(const ReportWindow& window, const RunTotals& totals,
                            common::Clock::time_point now);

// What the fields of a run's metrics rows may hold, beyond the bounds that hold for every run
// (see MetricsRow): the mean return lies within the world's episode returns.
struct RowBounds {
  double return_low = -1e6, return_high = 1e6;  // as a contract not made from a config
  // The bounds of the run `config` describes (its TrajectoryContractOf's episode returns).
  static RowBounds Of(const common::RunConfig& config);
};

// The metrics.jsonl row of `window` ending at `now`: rates over the window, mean loss terms
// (null without updates; mean_rho only for V-trace), mean return of the sessions that ended,
// policy lag min/mean/max (null without batches), the shares of the window the learner waited
// for data (learner_wait_share), computed updates (device_busy_share), published
// (learner_publish_share) and its intake thread decoded (learner_decode_share), the actors'
// health (actors_alive, actors_lost now, actors_lost_total) and shares (actor_*_share, means
// over the alive actors; null before their first reports), the checkpoint's age, the totals
// (future_versions: trajectories refused for a snapshot never published), the wall-clock time
// (wall_time, Unix seconds) and `final` (1 on the last row).
//
// Every field passes the rule of learner/report/metrics_rule.h before the row reaches any sink
// (metrics.jsonl, then the row sink's TensorBoard and Prometheus; ProgressLine follows it
// too): within its kind's range (mean_return within `bounds`), or refused, written as null
// and named in `refused` ("mean_return 3.4e+36 outside [0, 2751]") when given.
common::JsonObject MetricsRow(const ReportWindow& window, const RunTotals& totals, bool vtrace,
                              bool final, common::Clock::time_point now,
                              const RowBounds& bounds = RowBounds(),
                              std::vector<std::string>* refused = nullptr);

// The progress line of the same report ("[learner]   2.0s  updates 4  env_steps 10.2k ...");
// skipped updates, failed checkpoints, trajectories of future versions and lost actors are
// named at the end once there are any, and last comes the diagnosis of the window when one
// side clearly limits the run (common::Diagnose: "learner-bound: actors blocked 71% on
// send"). Its rate and mean return follow MetricsRow's rule ("-" when refused).
std::string ProgressLine(const ReportWindow& window, const RunTotals& totals,
                         common::Clock::time_point now, const RowBounds& bounds = RowBounds());

// Collects report windows and writes them: rows to `metrics_path` (appended; none when empty,
// as on the learner ranks that are not the lead), lines to `out`. Reports come every
// run.report_every_s seconds, or every run.report_every_updates updates (synchronous runs: 10
// by default, so that their rows do not depend on timing). Not thread-safe.
class ProgressReporter {
 public:
  ProgressReporter(const common::RunConfig& config, const std::string& metrics_path,
                   const TrainingCounters& counters, std::FILE* out = stdout);

  // Adds what the ranks agreed on before an update: sessions that ended and trajectories
  // dropped always, lags only of batches that are trained on (none when stopping).
  void AddAgreed(const RankReport& agreed);
  // Adds the loss terms of one update whose loss did not fail, if `applied` (a bool scalar
  // beside them), or counts it skipped if not: summed where they are (on the device), read at
  // the next report, which logs the skipped ones.
  void AddUpdate(const LossTerms& terms, const torch::Tensor& applied);
  // Adds `wait_s` seconds spent without a batch to train, `compute_s` seconds in updates and
  // `publish_s` seconds publishing, serving control, reporting and checkpointing.
  void AddTimes(double wait_s, double compute_s, double publish_s = 0);
  // Calls `sink` with every row after it is written to metrics.jsonl (TensorBoard,
  // Prometheus). A sink that throws common::Error is logged (rate-limited); training goes on.
  void SetRowSink(std::function<void(const common::JsonObject&)> sink) { sink_ = std::move(sink); }
  // Counts update `update`, skipped for `reason`, and logs it (rate-limited).
  void AddSkipped(uint64_t update, const std::string& reason);

  // Whether a report is due now (reports by time) or after update `updates` (by updates).
  bool DueNow(common::Clock::time_point now) const;
  bool DueAfterUpdate(uint64_t updates) const;

  // Writes the window's row and line as of `totals` (its skipped_updates brought up to date
  // with the window's), then starts a new window. A row that cannot be written (a full disk)
  // is logged and lost; training goes on.
  void Report(const RunTotals& totals, bool final);

  // Seconds since this reporter (the training loop) started; trajectories dropped so far
  // (stale, and of future versions).
  double seconds() const { return common::SecondsSince(start_); }
  uint64_t dropped_stale() const { return dropped_stale_; }
  uint64_t future_versions() const { return future_versions_; }
  uint64_t skipped_updates() const { return skipped_updates_; }

 private:
  // The window's loss sums, skipped updates counted and logged.
  void ReadLossSums();

  const double every_s_;
  const uint64_t every_updates_;  // 0: by time
  const bool vtrace_;
  const RowBounds bounds_;
  const common::Clock::time_point start_;
  std::unique_ptr<common::MetricsWriter> metrics_;
  std::FILE* out_;
  ReportWindow window_;
  // Over the window's updates: LossTerms::values of those applied, then how many were applied
  // and how many skipped; undefined before the first.
  torch::Tensor loss_sums_;
  uint64_t dropped_stale_ = 0;
  uint64_t future_versions_ = 0;
  uint64_t skipped_updates_ = 0;
  uint64_t lost_rows_ = 0;  // rows that could not be written (a full disk)
  std::function<void(const common::JsonObject&)> sink_;
  common::LogLimiter skip_log_, write_log_, sink_log_, refused_log_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_REPORT_PROGRESS_REPORT_H_
