#include "learner/learner_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/base/file_modes.h"
#include "common/base/logging.h"
#include "common/config/config.h"
#include "learner/trajectory_receiver.h"

namespace rlrec::learner {
namespace {

// Why this rank wants to stop now, if it does: a signal, or a spent budget.
StopReason StopWanted(bool signalled, const common::RunConfig::Run& run, double seconds,
                      const TrainingCounters& counters) {
  if (signalled) return StopReason::kSignal;
  if (run.budget_seconds > 0 && seconds >= run.budget_seconds) return StopReason::kTimeBudget;
  if (run.max_updates > 0 && counters.updates >= run.max_updates) return StopReason::kMaxUpdates;
  if (run.max_env_steps > 0 && counters.env_steps >= run.max_env_steps) {
    return StopReason::kMaxEnvSteps;
  }
  return StopReason::kNone;
}

// Loads the newest checkpoint that loads into `trainer`, saying what it refused on the way.
TrainingCounters Resume(Trainer& trainer, const common::RunDir& run_dir) {
  // Every rank reads the same files (a shared filesystem across hosts).
  Resumed resumed = trainer.Resume(run_dir.checkpoints());
  for (const auto& why : resumed.refused) {
    RLREC_LOG(Warning) << "refused " << why << "; falling back to an older checkpoint";
  }
  const TrainingCounters& c = resumed.contents.counters;
  RLREC_LOG(Info) << "resumed from " << resumed.path << ": update " << c.updates << ", "
                  << c.env_steps << " env steps, snapshot " << c.snapshot_version;
  return c;
}

// "rank 1 took trajectories at tcp://h2:5555" for each rank `lost` names.
std::string WhereRanksListen(const RanksLost& lost,
                             const std::vector<std::string>& trajectory_endpoints) {
  std::string out;
  for (int r : lost.ranks()) {
    if (!out.empty()) out += ", ";
    out += "rank " + std::to_string(r) + " took trajectories at " + trajectory_endpoints.at(r);
  }
  return out;
}

// One learner per run folder: the lead takes the folder's lock (a second learner stops here,
// before it writes anything), closes the folder to other users if it was open to them, makes
// the checkpoint folder and writes config.ini.
std::unique_ptr<common::RunDirLock> ClaimRunFolder(const common::RunConfig& config,
                                                   const common::RunDir& run_dir, bool lead) {
  if (!lead) return nullptr;
  auto lock = std::make_unique<common::RunDirLock>(run_dir);
  common::TightenRunFolder(run_dir.path(), config.run.group_readable);
  std::filesystem::create_directories(run_dir.checkpoints());
  run_dir.WriteConfig(config);
  return lock;
}

// Seeds LibTorch's generator with run.seed before the model is made; `config` back.
const common::RunConfig& SeedTorch(const common::RunConfig& config) {
  torch::manual_seed(config.run.seed);
  return config;
}

}  // namespace

LearnerRun::LearnerRun(const common::RunConfig& config, const common::RunDir& run_dir,
                       const common::ZmqContext& context, const MpiWorld& world, bool resume)
    : config_(config),
      run_dir_(run_dir),
      world_(world),
      lead_(world.rank() == 0),
      timeout_s_(config.learner.collective_timeout_s),
      config_ini_(common::ConfigIni(config)),
      lock_(ClaimRunFolder(config, run_dir, lead_)),
      trainer_(SeedTorch(config), world),
      counters_(resume ? Resume(trainer_, run_dir) : TrainingCounters{}),
      guard_(GuardLearnerSockets(context, config.transport, run_dir, world, timeout_s_)) {
  // Listen: this rank's trajectories; the lead also serves control and weights. With CURVE,
  // the ZAP handler admits only the run's clients to any of them.
  const LearnerPorts ports = ChoosePorts(config.transport, world.rank(),
                                         resume ? PortsFile::Read(run_dir.ports()) : PortsFile());
  auto receiver = std::make_unique<TrajectoryReceiver>(
      context, BindEndpoint(config.transport.host, ports.trajectory), config.transport.receive_hwm,
      common::TrajectoryContractOf(config), guard_.security);
  trajectory_endpoints_ =
      world.AllGather(Advertise(receiver->endpoint(), config.transport), timeout_s_);
  if (lead_) {
    server_ = std::make_unique<LeadServer>(
        context, config.transport, run_dir, ports, trajectory_endpoints_,
        trainer_.Snapshot(run_dir.run_id(), counters_.snapshot_version), guard_.security,
        config.run.actor_timeout_s, uint64_t(config.run.actors_log_mb * 1024 * 1024));
    server_->health().Restore(counters_.actors_seen);
    RLREC_LOG(Info) << "run " << run_dir.run_id() << ": control " << server_->control_endpoint()
                    << ", weights " << server_->weights_endpoint() << ", "
                    << trajectory_endpoints_.size() << " learner rank(s), " << trainer_.Describe()
                    << (guard_.security.curve
                            ? ", CURVE security (clients need " + run_dir.curve_client_keys() + ")"
                            : ", no socket security");
  }
  RLREC_LOG(Info) << "rank " << world.rank() << " of " << world.size() << ": trajectories at "
                  << trajectory_endpoints_[world.rank()];
  // Receive, decode, batch and copy to the device on a thread of their own (IntakeThread).
  intake_ = std::make_unique<IntakeThread>(
      std::move(receiver), config, trainer_.device(), counters_.snapshot_version,
      IntakeThread::AheadFor(trainer_.device()), /*published_ahead=*/lead_ ? 0 : 1);
  reporter_ = std::make_unique<ProgressReporter>(config, lead_ ? run_dir.metrics() : "", counters_);
  checkpoints_ = std::make_unique<CheckpointSchedule>(
      config.run, run_dir, resume ? std::optional<uint64_t>(counters_.updates) : std::nullopt);
  if (server_) {
    sinks_ = std::make_unique<ReportSinks>(config, run_dir, resume, counters_.updates, *server_,
                                           *reporter_);
  }
  // A rank lost inside the blocking gradient all-reduce: from the watchdog's thread, while this
  // one waits in the all-reduce and touches none of it, the lead writes the final metrics row
  // and checkpoints the weights of the last update before the job ends.
  last_words_ = std::make_unique<ScopedLastWords>(world, lead_, [this](const std::string& why) {
    RLREC_LOG(Error) << why << "; writing a final checkpoint of update " << counters_.updates
                     << " and ending the job";
    reporter_->Report(Totals(), /*final=*/true);
    SaveFinal();
  });
}

LearnerSummary LearnerRun::Run(const std::atomic<bool>& stop) {
  // Data path: [intake thread: PULL → decode in place → batch → device] → loss → backward →
  // all-reduce → step → PUB.
  while (true) {
    const auto iteration_start = common::Clock::now();
    mine_.stop = StopWanted(stop, config_.run, reporter_->seconds(), counters_);
    Serve();
    // A stopping lead writes its final row next: the last window stays in it.
    if (lead_ && mine_.stop == StopReason::kNone && reporter_->DueNow(common::Clock::now())) {
      reporter_->Report(Totals(), false);
    }
    const std::optional<ReadyBatch> ready = Receive(common::SecondsSince(iteration_start));
    if (!ready && mine_.stop == StopReason::kNone) continue;  // no batch yet
    const std::optional<UpdateResult> update = Update(ready);
    if (!update) break;
    const auto after_start = common::Clock::now();
    AfterUpdate(*update);
    reporter_->AddTimes(0, 0, common::SecondsSince(after_start));
  }
  Finish();
  return summary_;
}

void LearnerRun::Serve() {
  if (server_) server_->Serve(counters_);
}

// The batch's report and the lags of its trajectories at the current version go into mine_;
// the time waited for data (waiting while the intake is idle: time it spends decoding, all of
// its work on a CPU learner, which stacks nothing ahead, is its decode share) and `served_s`
// into the report. When mine_ wants to stop, the intake stops: what arrived after the last
// update is not trained on and does not count (a run's totals are those of its updates, which
// synchronous runs repeat exactly).
std::optional<ReadyBatch> LearnerRun::Receive(double served_s) {
  if (mine_.stop != StopReason::kNone) {
    const RankReport unused = intake_->StopAndTakeUnused();
    RLREC_LOG(Info) << "rank " << world_.rank() << " stops; " << unused.env_steps
                    << " env steps received since the last update are not trained on";
    reporter_->AddTimes(0, 0, served_s);
    return std::nullopt;
  }
  const auto start = common::Clock::now();
  const double busy_before = intake_->busy_s();
  std::optional<ReadyBatch> ready = intake_->Next(common::After(0.02));
  const double waited_s =
      std::max(0.0, common::SecondsSince(start) - (intake_->busy_s() - busy_before));
  reporter_->AddTimes(waited_s, 0, served_s);
  if (!ready) return std::nullopt;
  mine_ = CombineReports(mine_, ready->report);
  for (uint64_t v : ready->policy_versions) {
    mine_.AddLag(double(PolicyLag(counters_.snapshot_version, v)));
  }
  if (server_) server_->health().Admit(ready->actor_ids);
  return ready;
}

// Ranks check in twice an update: here, and before the gradients' all-reduce. Past the
// timeout the lead names whoever is missing; its weights are still whole, so it finishes the
// run (final row and checkpoint) and lets the error end the job: the lost ranks cannot
// finalise.
std::optional<UpdateResult> LearnerRun::Update(const std::optional<ReadyBatch>& ready) {
  mine_.trajectories = double(intake_->received());
  mine_.decode_errors = double(intake_->decode_errors());
  try {
    agreed_ = Agree(world_, mine_, timeout_s_, [this] { Serve(); });
    mine_ = RankReport();
    counters_.env_steps += static_cast<uint64_t>(agreed_.env_steps);
    reporter_->AddAgreed(agreed_);
    if (agreed_.stop != StopReason::kNone) {
      summary_.stop_reason = StopReasonName(agreed_.stop);
      return std::nullopt;
    }
    const auto start = common::Clock::now();
    UpdateResult update =
        ready->error.empty() ? trainer_.Update(ready->batch) : trainer_.Fail(ready->error);
    reporter_->AddTimes(0, common::SecondsSince(start));
    return update;
  } catch (const RanksLost& lost) {  // on the lead only
    RLREC_LOG(Error) << lost.what() << "; " << WhereRanksListen(lost, trajectory_endpoints_)
                     << "; writing a final checkpoint of update " << counters_.updates
                     << " and ending the job";
    summary_.stop_reason = "learner_rank_lost";
    Finish();
    throw;
  }
}

void LearnerRun::AfterUpdate(const UpdateResult& update) {
  ++counters_.updates;
  if (update.failure.empty()) {
    reporter_->AddUpdate(update.terms, update.applied);  // on the device; read at reports
  } else {
    reporter_->AddSkipped(counters_.updates, update.SkipReason());
  }
  // Synchronous actors wait for the next snapshot: publish after every update.
  if (config_.learner.synchronous || counters_.updates % config_.learner.publish_every == 0) {
    Publish();
  }
  if (!server_) return;
  if (reporter_->DueAfterUpdate(counters_.updates)) reporter_->Report(Totals(), false);
  // Weights in this process's memory are written from a forked copy-on-write view (the pause
  // is the fork); weights on a GPU are not in that view.
  checkpoints_->AfterUpdate(counters_.updates, save_,
                            /*in_background=*/config_.learner.device == common::Device::kCpu);
}

// A delta on the version before and, every transport.full_snapshot_every versions or when the
// publisher asks for one, a full snapshot too (Trainer::SnapshotsToPublish).
void LearnerRun::Publish() {
  const uint64_t version = ++counters_.snapshot_version;
  intake_->SetVersion(version);
  if (!server_) return;
  server_->PublishVersion(
      version % config_.transport.full_snapshot_every == 0, [&](bool full, const auto& memory) {
        return trainer_.SnapshotsToPublish(run_dir_.run_id(), version, full, memory);
      });
}

// A world of one knows its receiver's counts; more ranks report the totals they last agreed
// on. The lead adds its actors' health (checking for lost ones) and the age of its newest
// checkpoint.
RunTotals LearnerRun::Totals() const {
  const bool alone = world_.size() == 1;
  RunTotals t;
  t.time_s = reporter_->seconds();
  t.counters = counters_;
  t.trajectories_received = alone ? intake_->received() : uint64_t(agreed_.trajectories);
  t.decode_errors = alone ? intake_->decode_errors() : uint64_t(agreed_.decode_errors);
  t.dropped_stale = reporter_->dropped_stale();
  t.future_versions = reporter_->future_versions();
  t.skipped_updates = reporter_->skipped_updates();
  t.failed_checkpoints = checkpoints_->failed();
  t.actors_seen = server_ ? server_->actors_seen() : 0;
  t.learner_ranks = world_.size();
  t.intake_busy_s = intake_->busy_s();
  if (server_) {
    t.actors = server_->health().Check(common::Clock::now());
    t.checkpoint_age_s = checkpoints_->NewestAge();
  }
  return t;
}

// The actors admitted so far go with the counters, so that a resumed run's actors_seen goes on.
void LearnerRun::Save(const std::string& path) {
  TrainingCounters saved = counters_;
  if (server_) {
    const auto& admitted = server_->health().admitted();
    saved.actors_seen.assign(admitted.begin(), admitted.end());
  }
  trainer_.Save(path, saved, config_ini_);
}

void LearnerRun::SaveFinal() {
  const FinalCheckpoint final = checkpoints_->SaveFinal(counters_.updates, save_);
  summary_.final_checkpoint_written = final.written;
  summary_.final_checkpoint = final.path;
  summary_.final_checkpoint_update = final.update;
}

void LearnerRun::Finish() {
  const RunTotals totals = Totals();
  summary_.updates = counters_.updates;
  summary_.env_steps = counters_.env_steps;
  summary_.trajectories = totals.trajectories_received;
  summary_.decode_errors = totals.decode_errors;
  summary_.snapshot_version = counters_.snapshot_version;
  if (!server_) {
    RLREC_LOG(Info) << "rank " << world_.rank() << " stopped (" << summary_.stop_reason
                    << ") after " << counters_.updates << " updates, " << intake_->received()
                    << " trajectories received here";
    return;
  }
  reporter_->Report(totals, /*final=*/true);
  SaveFinal();
  server_->EndRun(summary_.stop_reason);
  std::error_code ec;
  std::filesystem::remove(run_dir_.metrics_endpoint(), ec);
  RLREC_LOG(Info) << "stopped (" << summary_.stop_reason << ") after " << counters_.updates
                  << " updates, " << counters_.env_steps << " env steps; "
                  << (summary_.final_checkpoint_written   ? "final checkpoint "
                      : summary_.final_checkpoint.empty() ? "no checkpoint"
                                                          : "no final checkpoint, the newest is ")
                  << summary_.final_checkpoint;
}

}  // namespace rlrec::learner
