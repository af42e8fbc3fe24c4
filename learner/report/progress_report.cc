#include "learner/report/progress_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/base/error.h"
#include "common/wire/trajectory_checks.h"

namespace rlrec::learner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The window's mean return by MetricsRow's rule: NaN without sessions or outside `bounds`.
double MeanReturn(const ReportWindow& w, const RowBounds& bounds) {
  if (w.episodes == 0) return kNaN;
  return Checked(w.return_sum / static_cast<double>(w.episodes),
                 FieldRange{bounds.return_low, bounds.return_high});
}

// "12.3k", "1.05M", "950".
std::string Human(double x) {
  char buf[32];
  if (x >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", x / 1e6);
  } else if (x >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk", x / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  }
  return buf;
}

double WindowSeconds(const ReportWindow& window, common::Clock::time_point now) {
  return std::max(1e-9, std::chrono::duration<double>(now - window.start).count());
}

// `seconds` as a share of the window, in [0, 1].
double ShareOf(double seconds, const ReportWindow& w, common::Clock::time_point now) {
  return std::clamp(seconds / WindowSeconds(w, now), 0.0, 1.0);
}

double EnvStepsPerSecond(const ReportWindow& w, const RunTotals& totals,
                         common::Clock::time_point now) {
  return (totals.counters.env_steps - w.env_steps_at_start) / WindowSeconds(w, now);
}

ReportWindow NewWindow(common::Clock::time_point start, const TrainingCounters& counters,
                       double intake_busy_s = 0) {
  ReportWindow window;
  window.start = start;
  window.env_steps_at_start = counters.env_steps;
  window.updates_at_start = counters.updates;
  window.intake_busy_at_start = intake_busy_s;
  return window;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

common::TimeShares SharesOf(const ReportWindow& w, const RunTotals& totals,
                            common::Clock::time_point now) {
  common::TimeShares s;
  s.learner_wait = ShareOf(w.wait_s, w, now);
  s.learner_decode = ShareOf(totals.intake_busy_s - w.intake_busy_at_start, w, now);
  s.learner_compute = ShareOf(w.compute_s, w, now);
  s.learner_publish = ShareOf(w.publish_s, w, now);
  const bool actors = totals.actors.alive > 0;
  s.actor_simulate = actors ? totals.actors.simulate_share : kNaN;
  s.actor_infer = actors ? totals.actors.infer_share : kNaN;
  s.actor_encode = actors ? totals.actors.encode_share : kNaN;
  s.actor_send_blocked = actors ? totals.actors.send_blocked_share : kNaN;
  return s;
}

RowBounds RowBounds::Of(const common::RunConfig& config) {
  const common::ValueRange returns = common::TrajectoryContractOf(config).episode_return;
  return {returns.low, returns.high};
}

common::JsonObject MetricsRow(const ReportWindow& w, const RunTotals& totals, bool vtrace,
                              bool final, common::Clock::time_point now, const RowBounds& bounds,
                              std::vector<std::string>* refused) {
  const double window_s = WindowSeconds(w, now);
  const double n = std::max(1, w.loss_count);
  const bool losses = w.loss_count > 0, lags = w.lag_count > 0;
  const common::TimeShares shares = SharesOf(w, totals, now);
  using M = common::Metric;
  CheckedRow row(refused);
  row.Add(M::kTimeS, totals.time_s)
      .Count(M::kUpdate, totals.counters.updates)
      .Count(M::kEnvSteps, totals.counters.env_steps)
      .Add(M::kEnvStepsPerS, EnvStepsPerSecond(w, totals, now))
      .Add(M::kUpdatesPerS, (totals.counters.updates - w.updates_at_start) / window_s)
      .Add(M::kPolicyLoss, losses ? w.policy_loss / n : kNaN)
      .Add(M::kValueLoss, losses ? w.value_loss / n : kNaN)
      .Add(M::kEntropy, losses ? w.entropy / n : kNaN)
      .Add(M::kTotalLoss, losses ? w.total_loss / n : kNaN)
      .Add(M::kMeanReturn, w.episodes ? w.return_sum / double(w.episodes) : kNaN,
           FieldRange{bounds.return_low, bounds.return_high})
      .Count(M::kEpisodes, w.episodes)
      .Add(M::kPolicyLagMin, lags ? double(w.lag_min) : kNaN)
      .Add(M::kPolicyLagMean, lags ? w.lag_sum / double(w.lag_count) : kNaN)
      .Add(M::kPolicyLagMax, lags ? double(w.lag_max) : kNaN)
      .Count(M::kTrajectoriesReceived, totals.trajectories_received)
      .Count(M::kDecodeErrors, totals.decode_errors)
      .Count(M::kDroppedStale, totals.dropped_stale)
      .Count(M::kFutureVersions, totals.future_versions)
      .Count(M::kSkippedUpdates, totals.skipped_updates)
      .Count(M::kFailedCheckpoints, totals.failed_checkpoints)
      .Add(M::kMeanRho, vtrace && losses ? w.rho_sum / n : kNaN)
      .Count(M::kSnapshotVersion, totals.counters.snapshot_version)
      .Count(M::kActorsSeen, totals.actors_seen)
      .Count(M::kLearnerRanks, totals.learner_ranks)
      .Add(M::kLearnerWaitShare, shares.learner_wait)
      .Add(M::kDeviceBusyShare, shares.learner_compute)
      .Add(M::kLearnerDecodeShare, shares.learner_decode)
      .Add(M::kLearnerPublishShare, shares.learner_publish)
      .Count(M::kActorsAlive, totals.actors.alive)
      .Count(M::kActorsLost, totals.actors.lost)
      .Count(M::kActorsLostTotal, totals.actors.lost_ever)
      .Add(M::kActorEnvStepsPerS, totals.actors.alive > 0 ? totals.actors.env_steps_per_s : kNaN)
      .Add(M::kActorSimulateShare, shares.actor_simulate)
      .Add(M::kActorInferShare, shares.actor_infer)
      .Add(M::kActorEncodeShare, shares.actor_encode)
      .Add(M::kActorSendBlockedShare, shares.actor_send_blocked)
      .Add(M::kCheckpointAgeS, totals.checkpoint_age_s)
      .AddFixed(M::kWallTime, UnixNow(), 3)
      .Count(M::kFinal, final ? 1 : 0);
  return row.Take();
}

std::string ProgressLine(const ReportWindow& w, const RunTotals& totals,
                         common::Clock::time_point now, const RowBounds& bounds) {
  const double mean = MeanReturn(w, bounds);
  const std::string mean_return = std::isnan(mean) ? "-" : std::to_string(mean).substr(0, 6);
  const double rate = Checked(EnvStepsPerSecond(w, totals, now), FieldKind::kRate);
  const std::string per_s = std::isnan(rate) ? "-" : Human(rate);
  const std::string lag = w.lag_count > 0
                              ? std::to_string(w.lag_min) + "/" +
                                    std::to_string(w.lag_sum / w.lag_count).substr(0, 4) + "/" +
                                    std::to_string(w.lag_max)
                              : "-";
  // Troubles, once there are any: the field's name and its count.
  using M = common::Metric;
  std::string troubles;
  for (const auto& [field, count] : {std::pair{M::kSkippedUpdates, totals.skipped_updates},
                                     {M::kFailedCheckpoints, totals.failed_checkpoints},
                                     {M::kFutureVersions, totals.future_versions},
                                     {M::kActorsLost, totals.actors.lost}}) {
    if (count > 0)
      troubles += std::string("  ") + common::NameOf(field) + " " + std::to_string(count);
  }
  const std::string phrase = common::Diagnose(SharesOf(w, totals, now)).phrase;
  if (!phrase.empty()) troubles += "  " + phrase;
  char line[1024];
  std::snprintf(
      line, sizeof(line),
      "[learner] %6.1fs  updates %llu  env_steps %s (%s/s)  mean_return %s  "
      "lag %s  traj %llu  %s %llu  actors %llu  wait %.0f%%  busy %.0f%%%s\n",
      totals.time_s, static_cast<unsigned long long>(totals.counters.updates),
      Human(totals.counters.env_steps).c_str(), per_s.c_str(), mean_return.c_str(), lag.c_str(),
      static_cast<unsigned long long>(totals.trajectories_received),
      common::NameOf(M::kDecodeErrors), static_cast<unsigned long long>(totals.decode_errors),
      static_cast<unsigned long long>(totals.actors_seen), 100 * ShareOf(w.wait_s, w, now),
      100 * ShareOf(w.compute_s, w, now), troubles.c_str());
  return line;
}

ProgressReporter::ProgressReporter(const common::RunConfig& config, const std::string& metrics_path,
                                   const TrainingCounters& counters, std::FILE* out)
    : every_s_(config.run.report_every_s),
      every_updates_(config.run.report_every_updates > 0 ? config.run.report_every_updates
                     : config.learner.synchronous        ? 10
                                                         : 0),
      vtrace_(config.learner.objective == common::Objective::kVTrace),
      bounds_(RowBounds::Of(config)),
      start_(common::Clock::now()),
      out_(out),
      window_(NewWindow(start_, counters)) {
  if (!metrics_path.empty()) metrics_ = std::make_unique<common::MetricsWriter>(metrics_path);
}

void ProgressReporter::AddAgreed(const RankReport& agreed) {
  window_.return_sum += agreed.return_sum;
  window_.episodes += static_cast<uint64_t>(agreed.episodes);
  dropped_stale_ += static_cast<uint64_t>(agreed.dropped_stale);
  future_versions_ += static_cast<uint64_t>(agreed.future_versions);
  if (agreed.stop != StopReason::kNone || agreed.lag_count <= 0) return;
  window_.lag_min = std::min(window_.lag_min, static_cast<uint64_t>(agreed.lag_min));
  window_.lag_max = std::max(window_.lag_max, static_cast<uint64_t>(agreed.lag_max));
  window_.lag_sum += agreed.lag_sum;
  window_.lag_count += static_cast<uint64_t>(agreed.lag_count);
}

void ProgressReporter::AddUpdate(const LossTerms& terms, const torch::Tensor& applied) {
  torch::NoGradGuard no_grad;
  const auto taken = applied.to(terms.values.options()).reshape({1});
  const auto row = torch::cat(
      {torch::where(applied, terms.values, torch::zeros_like(terms.values)), taken, 1 - taken});
  loss_sums_ = loss_sums_.defined() ? loss_sums_ + row : row;
}

void ProgressReporter::AddTimes(double wait_s, double compute_s, double publish_s) {
  window_.wait_s += wait_s;
  window_.compute_s += compute_s;
  window_.publish_s += publish_s;
}

void ProgressReporter::AddSkipped(uint64_t update, const std::string& reason) {
  ++skipped_updates_;
  if (skip_log_.Allow()) {
    const uint64_t held_back = skip_log_.TakeSuppressed();
    RLREC_LOG(Warning) << "skipped update " << update << ", weights unchanged: " << reason << " ("
                       << skipped_updates_ << " skipped so far"
                       << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                       << ")";
  }
}

bool ProgressReporter::DueNow(common::Clock::time_point now) const {
  return every_updates_ == 0 &&
         std::chrono::duration<double>(now - window_.start).count() >= every_s_;
}

bool ProgressReporter::DueAfterUpdate(uint64_t updates) const {
  return every_updates_ > 0 && updates % every_updates_ == 0;
}

void ProgressReporter::ReadLossSums() {
  if (!loss_sums_.defined()) return;
  // The one wait for the device in the learner's loop (with a snapshot's copy).
  const auto host = loss_sums_.to(torch::kCPU, torch::kFloat64);
  const LossValues sums = LossTerms::Read(host.narrow(0, 0, LossTerms::kCount));
  window_.total_loss = sums.total;
  window_.policy_loss = sums.policy_loss;
  window_.value_loss = sums.value_loss;
  window_.entropy = sums.entropy;
  window_.rho_sum = sums.mean_rho;
  window_.loss_count = static_cast<int>(std::lround(host[LossTerms::kCount].item<double>()));
  const auto skipped =
      static_cast<uint64_t>(std::lround(host[LossTerms::kCount + 1].item<double>()));
  loss_sums_ = torch::Tensor();
  if (skipped == 0) return;
  skipped_updates_ += skipped;
  if (skip_log_.Allow()) {
    RLREC_LOG(Warning) << skipped << " update(s) skipped since the last report, weights unchanged: "
                       << "a non-finite loss or gradient (" << skipped_updates_
                       << " skipped so far)";
  }
}

void ProgressReporter::Report(const RunTotals& run_totals, bool final) {
  const uint64_t skipped_before = skipped_updates_;
  ReadLossSums();
  RunTotals totals = run_totals;
  totals.skipped_updates += skipped_updates_ - skipped_before;
  const auto now = common::Clock::now();
  std::vector<std::string> refused;
  const common::JsonObject row =
      MetricsRow(window_, totals, vtrace_, final, now, bounds_, &refused);
  if (!refused.empty() && refused_log_.Allow()) {
    std::string fields;
    for (const auto& why : refused) fields += (fields.empty() ? "" : "; ") + why;
    RLREC_LOG(Warning) << "metrics row of update " << totals.counters.updates
                       << ": refused (written as null) " << fields;
  }
  if (metrics_) {
    try {
      metrics_->Write(row);
    } catch (const common::Error& e) {
      // Training matters more than one row: say so, and go on.
      ++lost_rows_;
      if (write_log_.Allow()) {
        RLREC_LOG(Error) << "lost metrics row " << lost_rows_ << ": " << e.what();
      }
    }
  }
  if (sink_) {
    try {
      sink_(row);
    } catch (const common::Error& e) {
      if (sink_log_.Allow()) RLREC_LOG(Error) << "a report's row went no further: " << e.what();
    }
  }
  std::fputs(ProgressLine(window_, totals, now, bounds_).c_str(), out_);
  std::fflush(out_);
  window_ = NewWindow(now, totals.counters, totals.intake_busy_s);
}

}  // namespace rlrec::learner
