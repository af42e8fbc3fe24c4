#include "learner/learner_loop.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "common/base/atomic_file.h"
#include "common/base/file_modes.h"
#include "common/base/logging.h"
#include "common/config/config.h"
#include "common/run/run_folder.h"
#include "common/run/tensorboard.h"
#include "learner/batch_intake.h"
#include "learner/checkpoint_schedule.h"
#include "learner/endpoints.h"
#include "learner/intake_thread.h"
#include "learner/lead_server.h"
#include "learner/ranks/rank_report.h"
#include "learner/report/metrics_exporter.h"
#include "learner/report/progress_report.h"
#include "learner/train/trainer.h"
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

// The lead's TensorBoard file: a fresh one, or on a resume one holding the run's rows up to
// the checkpoint's update `updates` (common::SurvivingRows); nullptr when run.tensorboard is
// off or the file cannot be written (logged: training goes on without it).
std::unique_ptr<common::TensorBoardWriter> OpenTensorBoard(const common::RunConfig& config,
                                                           const common::RunDir& run_dir,
                                                           bool resume, uint64_t updates) {
  if (!config.run.tensorboard) return nullptr;
  if (!common::TensorBoardWriter::Available()) {
    RLREC_LOG(Warning) << "no TensorBoard files: this rlrec was built without protobuf";
    return nullptr;
  }
  try {
    std::vector<common::ScalarRow> history;
    if (resume) {
      std::vector<std::string> lines;
      std::ifstream in(run_dir.metrics());
      for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
      history = common::SurvivingRows(lines, static_cast<int64_t>(updates));
    }
    auto writer = std::make_unique<common::TensorBoardWriter>(run_dir.tensorboard(), history);
    RLREC_LOG(Info) << "TensorBoard events in " << writer->path()
                    << (resume ? " (" + std::to_string(history.size()) + " earlier rows)" : "");
    return writer;
  } catch (const common::Error& e) {
    RLREC_LOG(Error) << "no TensorBoard files: " << e.what();
    return nullptr;
  }
}

// The lead's Prometheus endpoint when run.metrics_port asks for one, on run.metrics_host (or
// transport.host), its address written to the run folder; nullptr when off or when it cannot
// listen (logged: training goes on). A run.metrics_auth_file that cannot be used is a
// configuration error: thrown (Error(kInvalidInput)), never served without authentication.
std::unique_ptr<MetricsExporter> StartExporter(const common::RunConfig& config,
                                               const common::RunDir& run_dir) {
  if (config.run.metrics_port == 0) return nullptr;
  const std::string& host =
      config.run.metrics_host.empty() ? config.transport.host : config.run.metrics_host;
  try {
    auto exporter = std::make_unique<MetricsExporter>(host, config.run.metrics_port,
                                                      config.run.metrics_auth_file);
    common::WriteFileAtomically(run_dir.metrics_endpoint(), {exporter->url(), "\n"});
    RLREC_LOG(Info) << "Prometheus metrics at " << exporter->url()
                    << (config.run.metrics_auth_file.empty()
                            ? " (no authentication)"
                            : " (HTTP basic authentication: run.metrics_auth_file)");
    return exporter;
  } catch (const common::Error& e) {
    if (e.kind() == common::ErrorKind::kInvalidInput) throw;
    RLREC_LOG(Error) << e.what() << "; training goes on without it";
    return nullptr;
  }
}

// Seconds since the newest checkpoint in `run_dir` was written; NaN when there is none.
double CheckpointAge(const common::RunDir& run_dir) {
  const auto checkpoints = common::ListCheckpoints(run_dir.checkpoints());
  if (checkpoints.empty()) return std::numeric_limits<double>::quiet_NaN();
  double age = checkpoints.front().age_s;
  for (const auto& c : checkpoints) age = std::min(age, c.age_s);
  return age;
}

// The lead's server: control and weights bound, the first snapshot published, the run folder
// told where to connect.
std::unique_ptr<LeadServer> StartLeadServer(const common::ZmqContext& context,
                                            const common::RunConfig& config,
                                            const common::RunDir& run_dir,
                                            const LearnerPorts& ports,
                                            const std::vector<std::string>& trajectory_endpoints,
                                            Trainer& trainer, const TrainingCounters& counters,
                                            const common::SocketSecurity& security) {
  auto server = std::make_unique<LeadServer>(
      context, config.transport, run_dir, ports, trajectory_endpoints,
      trainer.Snapshot(run_dir.run_id(), counters.snapshot_version), security,
      config.run.actor_timeout_s, uint64_t(config.run.actors_log_mb * 1024 * 1024));
  RLREC_LOG(Info) << "run " << run_dir.run_id() << ": control " << server->control_endpoint()
                  << ", weights " << server->weights_endpoint() << ", "
                  << trajectory_endpoints.size() << " learner rank(s), " << trainer.Describe()
                  << (security.curve
                          ? ", CURVE security (clients need " + run_dir.curve_client_keys() + ")"
                          : ", no socket security");
  return server;
}

// Where the lead's rows go besides metrics.jsonl: TensorBoard and Prometheus (either may be
// off). Feeds them from `reporter` for its own lifetime.
class ReportSinks {
 public:
  ReportSinks(const common::RunConfig& config, const common::RunDir& run_dir, bool resume,
              uint64_t updates, LeadServer& server, ProgressReporter& reporter)
      : tensorboard_(OpenTensorBoard(config, run_dir, resume, updates)),
        exporter_(StartExporter(config, run_dir)),
        server_(server),
        reporter_(reporter) {
    reporter_.SetRowSink([this](const common::JsonObject& row) {
      if (exporter_) {
        exporter_->Update(row);
        exporter_->UpdateActors(server_.health().actors(), common::Clock::now());
      }
      if (tensorboard_) tensorboard_->Write(common::ScalarRowOf(row));
    });
  }
  ~ReportSinks() { reporter_.SetRowSink({}); }
  ReportSinks(const ReportSinks&) = delete;
  ReportSinks& operator=(const ReportSinks&) = delete;

 private:
  const std::unique_ptr<common::TensorBoardWriter> tensorboard_;
  const std::unique_ptr<MetricsExporter> exporter_;
  LeadServer& server_;
  ProgressReporter& reporter_;
};

// The run as of now, for a report. A world of one knows its receiver's counts; more ranks
// report the totals they last agreed on. The lead adds its actors' health (checking for lost
// ones) and the age of its newest checkpoint.
RunTotals Totals(const ProgressReporter& reporter, const TrainingCounters& counters,
                 const IntakeThread& receiver, const RankReport& agreed,
                 const CheckpointSchedule& checkpoints, LeadServer* server,
                 const common::RunDir& run_dir, int ranks) {
  RunTotals t;
  t.time_s = reporter.seconds();
  t.counters = counters;
  t.trajectories_received = ranks == 1 ? receiver.received() : uint64_t(agreed.trajectories);
  t.decode_errors = ranks == 1 ? receiver.decode_errors() : uint64_t(agreed.decode_errors);
  t.dropped_stale = reporter.dropped_stale();
  t.future_versions = reporter.future_versions();
  t.skipped_updates = reporter.skipped_updates();
  t.failed_checkpoints = checkpoints.failed();
  t.actors_seen = server ? server->actors_seen() : 0;
  t.learner_ranks = ranks;
  t.intake_busy_s = receiver.busy_s();
  if (server) {
    t.actors = server->health().Check(common::Clock::now());
    t.checkpoint_age_s = CheckpointAge(run_dir);
  }
  return t;
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

// Writes the checkpoint of `updates` and marks it final (checkpoints/final.pt), saying in the
// log and in `summary` what is true afterwards: the final checkpoint's path, or that it could
// not be written and which checkpoint is the newest that remains.
void SaveFinal(CheckpointSchedule& checkpoints, uint64_t updates,
               const std::function<void(const std::string&)>& save, const common::RunDir& run_dir,
               LearnerSummary* summary) {
  const std::optional<std::string> path = checkpoints.TrySave(updates, save);
  if (path) {
    summary->final_checkpoint_written = true;
    summary->final_checkpoint_update = updates;
    summary->final_checkpoint = run_dir.final_checkpoint();
    try {
      checkpoints.MarkFinal(*path);
    } catch (const common::Error& e) {
      summary->final_checkpoint = *path;
      RLREC_LOG(Error) << e.what() << "; the final checkpoint is " << *path;
    }
    return;
  }
  summary->final_checkpoint_written = false;
  const auto remaining = common::ListCheckpoints(run_dir.checkpoints());
  summary->final_checkpoint = remaining.empty() ? "" : remaining.back().path;
  summary->final_checkpoint_update = remaining.empty() ? 0 : remaining.back().update;
  RLREC_LOG(Error) << "the final checkpoint (update " << updates << ") could not be written; "
                   << (remaining.empty()
                           ? "no checkpoint remains in " + run_dir.checkpoints()
                           : "the newest that remains is " + summary->final_checkpoint +
                                 " (update " + std::to_string(summary->final_checkpoint_update) +
                                 ")");
}

// The end of a run: `summary` filled in from `totals` and `counters`; on the lead (the one
// with a `server`) the final metrics row, the final checkpoint when it can be written, and
// the run-ended message to the actors.
void FinishRun(const RunTotals& totals, const TrainingCounters& counters, int rank,
               uint64_t received_here, ProgressReporter& reporter, CheckpointSchedule& checkpoints,
               const std::function<void(const std::string&)>& save, LeadServer* server,
               const common::RunDir& run_dir, LearnerSummary* summary) {
  summary->updates = counters.updates;
  summary->env_steps = counters.env_steps;
  summary->trajectories = totals.trajectories_received;
  summary->decode_errors = totals.decode_errors;
  summary->snapshot_version = counters.snapshot_version;
  if (!server) {
    RLREC_LOG(Info) << "rank " << rank << " stopped (" << summary->stop_reason << ") after "
                    << counters.updates << " updates, " << received_here
                    << " trajectories received here";
    return;
  }
  reporter.Report(totals, /*final=*/true);
  SaveFinal(checkpoints, counters.updates, save, run_dir, summary);
  server->EndRun(summary->stop_reason);
  std::error_code ec;
  std::filesystem::remove(run_dir.metrics_endpoint(), ec);
  RLREC_LOG(Info) << "stopped (" << summary->stop_reason << ") after " << counters.updates
                  << " updates, " << counters.env_steps << " env steps; "
                  << (summary->final_checkpoint_written   ? "final checkpoint "
                      : summary->final_checkpoint.empty() ? "no checkpoint"
                                                          : "no final checkpoint, the newest is ")
                  << summary->final_checkpoint;
}

// Gives the world the lead's last words for the life of the loop's state they use.
class LastWords {
 public:
  LastWords(const MpiWorld& world, bool lead, std::function<void(const std::string&)> words)
      : world_(world) {
    if (!lead) return;
    world_.SetLastWords([words = std::move(words)](const std::string& why) {
      try {
        words(why);
      } catch (const std::exception& e) {
        RLREC_LOG(Error) << "the final checkpoint failed: " << e.what();
      }
    });
  }
  ~LastWords() { world_.SetLastWords({}); }
  LastWords(const LastWords&) = delete;
  LastWords& operator=(const LastWords&) = delete;

 private:
  const MpiWorld& world_;
};

// The lead publishes `version`: a delta on the version before and, every
// transport.full_snapshot_every versions or when the server asks for one, a full snapshot too
// (Trainer::SnapshotsToPublish), written into the memory of the last full one when nothing
// reads it any more, and postponed while something does.
void PublishVersion(const common::RunConfig& config, const std::string& run_id, uint64_t version,
                    Trainer& trainer, LeadServer& server) {
  bool full = version % config.transport.full_snapshot_every == 0 || server.WantsFullSnapshot();
  std::shared_ptr<common::SnapshotBlob> memory;
  if (full) {
    memory = server.TakeSnapshotMemory();
    // The last full snapshot is still queued for a subscriber: deltas for now, not a third
    // copy of the model in this process (a snapshot that must be full takes fresh memory).
    if (!memory && server.PostponeFullSnapshot()) full = false;
  }
  const auto take = [&] { return memory ? std::move(memory) : server.TakeSnapshotMemory(); };
  for (auto& snapshot : trainer.SnapshotsToPublish(run_id, version, full, take)) {
    server.Publish(std::move(snapshot));
  }
}

// The lead after update `updates`: handles a background checkpoint that ended, and writes the
// checkpoint if one is due. Weights in this process's memory are written from a forked
// copy-on-write view (the pause is the fork); weights on a GPU are not in that view.
void CheckpointAfterUpdate(const common::RunConfig& config, uint64_t updates,
                           const std::function<void(const std::string&)>& save,
                           CheckpointSchedule& checkpoints) {
  checkpoints.Poll();
  if (!checkpoints.Due(updates)) return;
  if (config.learner.device == common::Device::kCpu) {
    checkpoints.StartSave(updates, save);
  } else {
    checkpoints.TrySave(updates, save);
  }
}

// Every rank after an update: counts it, adds its loss terms (or why it was skipped) to the
// report and moves to the next snapshot version when one is due, telling `intake`; the lead
// (the one with a `server`) also publishes that version, and reports and checkpoints when
// they are due.
void AfterUpdate(const common::RunConfig& config, const std::string& run_id,
                 const UpdateResult& update, Trainer& trainer, IntakeThread& intake,
                 LeadServer* server, const std::function<RunTotals()>& totals,
                 const std::function<void(const std::string&)>& save, ProgressReporter& reporter,
                 CheckpointSchedule& checkpoints, TrainingCounters* counters) {
  ++counters->updates;
  if (update.failure.empty()) {
    reporter.AddUpdate(update.terms, update.applied);  // on the device; read at reports
  } else {
    reporter.AddSkipped(counters->updates, update.SkipReason());
  }
  // Synchronous actors wait for the next snapshot: publish after every update.
  if (config.learner.synchronous || counters->updates % config.learner.publish_every == 0) {
    ++counters->snapshot_version;
    intake.SetVersion(counters->snapshot_version);
    if (server) PublishVersion(config, run_id, counters->snapshot_version, trainer, *server);
  }
  if (!server) return;
  if (reporter.DueAfterUpdate(counters->updates)) reporter.Report(totals(), false);
  CheckpointAfterUpdate(config, counters->updates, save, checkpoints);
}

// This rank's batch for the next update, its report and the lags of its trajectories at
// `version` added to `mine`, and the seconds it waited for data in `waited_s`; nullopt when
// none is ready within a short wait. When `mine` wants
// to stop: nullopt, and the intake stopped (what arrived after the last update is not trained
// on, and does not count: a run's totals are those of its updates, which synchronous runs
// repeat exactly).
std::optional<ReadyBatch> NextBatch(IntakeThread& intake, uint64_t version, int rank,
                                    RankReport* mine, double* waited_s) {
  // Waiting for data is waiting while the intake is idle: time it spends decoding (all of its
  // work on a CPU learner, which stacks nothing ahead) is its decode share.
  const auto start = common::Clock::now();
  const double busy_before = intake.busy_s();
  const auto waited = [&] {
    *waited_s = std::max(0.0, common::SecondsSince(start) - (intake.busy_s() - busy_before));
  };
  if (mine->stop != StopReason::kNone) {
    const RankReport unused = intake.StopAndTakeUnused();
    RLREC_LOG(Info) << "rank " << rank << " stops; " << unused.env_steps
                    << " env steps received since the last update are not trained on";
    return std::nullopt;
  }
  std::optional<ReadyBatch> ready = intake.Next(common::After(0.02));
  waited();
  if (!ready) return std::nullopt;
  *mine = CombineReports(*mine, ready->report);
  for (uint64_t v : ready->policy_versions) mine->AddLag(double(PolicyLag(version, v)));
  return ready;
}

}  // namespace

void CheckLearnerSettings(const common::RunConfig& config, int ranks) {
  if (config.learner.synchronous && config.actor.count <= 0) {
    throw common::InvalidInput(
        "learner.synchronous needs actor.count > 0: each update waits for one unroll from each "
        "of that many actors (rlrec train passes the number it starts)");
  }
  if (config.learner.synchronous && ranks > 1) {
    throw common::InvalidInput("learner.synchronous runs one learner rank, not " +
                               std::to_string(ranks) +
                               ": actors spread their unrolls over ranks unpredictably");
  }
}

LearnerSummary RunLearner(const common::RunConfig& config, const common::RunDir& run_dir,
                          const common::ZmqContext& context, const std::atomic<bool>& stop,
                          const MpiWorld& world, bool resume) {
  CheckLearnerSettings(config, world.size());
  const bool lead = world.rank() == 0;
  const double timeout_s = config.learner.collective_timeout_s;
  const std::string config_ini = common::ConfigIni(config);
  const std::unique_ptr<common::RunDirLock> lock = ClaimRunFolder(config, run_dir, lead);
  torch::manual_seed(config.run.seed);
  Trainer trainer(config, world);
  TrainingCounters counters = resume ? Resume(trainer, run_dir) : TrainingCounters{};

  // Listen: this rank's trajectories; the lead also serves control and weights. With CURVE,
  // the ZAP handler admits only the run's clients to any of them.
  const LearnerGuard guard =
      GuardLearnerSockets(context, config.transport, run_dir, world, timeout_s);
  const LearnerPorts ports = ChoosePorts(config.transport, world.rank(),
                                         resume ? PortsFile::Read(run_dir.ports()) : PortsFile());
  auto receiver = std::make_unique<TrajectoryReceiver>(
      context, BindEndpoint(config.transport.host, ports.trajectory), config.transport.receive_hwm,
      common::TrajectoryContractOf(config), guard.security);
  const std::vector<std::string> trajectory_endpoints =
      world.AllGather(Advertise(receiver->endpoint(), config.transport), timeout_s);
  std::unique_ptr<LeadServer> server =
      lead ? StartLeadServer(context, config, run_dir, ports, trajectory_endpoints, trainer,
                             counters, guard.security)
           : nullptr;
  if (server) server->health().Restore(counters.actors_seen);
  RLREC_LOG(Info) << "rank " << world.rank() << " of " << world.size() << ": trajectories at "
                  << trajectory_endpoints[world.rank()];
  // While waiting for other ranks, the lead keeps answering actors.
  const std::function<void()> serve = [&] {
    if (server) server->Serve(counters);
  };

  // Receive, decode, batch and copy to the device on a thread of their own (IntakeThread).
  IntakeThread intake(std::move(receiver), config, trainer.device(), counters.snapshot_version,
                      IntakeThread::AheadFor(trainer.device()), /*published_ahead=*/lead ? 0 : 1);
  ProgressReporter reporter(config, lead ? run_dir.metrics() : "", counters);
  CheckpointSchedule checkpoints(config.run, run_dir,
                                 resume ? std::optional<uint64_t>(counters.updates) : std::nullopt);
  RankReport mine;    // this rank, since the last update
  RankReport agreed;  // all ranks, at the last update: totals of received and decode errors
  const auto totals = [&] {
    return Totals(reporter, counters, intake, agreed, checkpoints, server.get(), run_dir,
                  world.size());
  };
  // The lead's rows also go to TensorBoard and Prometheus.
  const std::unique_ptr<ReportSinks> sinks =
      server ? std::make_unique<ReportSinks>(config, run_dir, resume, counters.updates, *server,
                                             reporter)
             : nullptr;
  const auto save = [&](const std::string& path) {
    TrainingCounters saved = counters;
    if (server) {
      const auto& admitted = server->health().admitted();
      saved.actors_seen.assign(admitted.begin(), admitted.end());
    }
    trainer.Save(path, saved, config_ini);
  };

  LearnerSummary summary;
  // A rank lost inside the blocking gradient all-reduce: from the watchdog's thread, while this
  // one waits in the all-reduce and touches none of it, the lead writes the final metrics row
  // and checkpoints the weights of the last update before the job ends.
  const LastWords last_words(world, lead, [&](const std::string& why) {
    RLREC_LOG(Error) << why << "; writing a final checkpoint of update " << counters.updates
                     << " and ending the job";
    reporter.Report(totals(), /*final=*/true);
    SaveFinal(checkpoints, counters.updates, save, run_dir, &summary);
  });
  const auto finish = [&] {
    FinishRun(totals(), counters, world.rank(), intake.received(), reporter, checkpoints, save,
              server.get(), run_dir, &summary);
  };

  // Data path: [intake thread: PULL → decode in place → batch → device] → loss → backward →
  // all-reduce → step → PUB.
  while (true) {
    const auto iteration_start = common::Clock::now();
    mine.stop = StopWanted(stop, config.run, reporter.seconds(), counters);
    serve();
    // A stopping lead writes its final row next: the last window stays in it.
    if (lead && mine.stop == StopReason::kNone && reporter.DueNow(common::Clock::now())) {
      reporter.Report(totals(), false);
    }
    const double served_s = common::SecondsSince(iteration_start);

    double waited_s = 0;
    std::optional<ReadyBatch> ready =
        NextBatch(intake, counters.snapshot_version, world.rank(), &mine, &waited_s);
    reporter.AddTimes(waited_s, 0, served_s);
    if (ready && server) server->health().Admit(ready->actor_ids);
    if (!ready && mine.stop == StopReason::kNone) continue;  // no batch yet

    // This rank has a batch, or wants to stop: agree with the others on which it is.
    mine.trajectories = double(intake.received());
    mine.decode_errors = double(intake.decode_errors());
    // Ranks check in twice an update: here, and before the gradients' all-reduce. Past the
    // timeout the lead names whoever is missing; its weights are still whole.
    UpdateResult update;
    try {
      agreed = Agree(world, mine, timeout_s, serve);
      mine = RankReport();
      counters.env_steps += static_cast<uint64_t>(agreed.env_steps);
      reporter.AddAgreed(agreed);
      if (agreed.stop != StopReason::kNone) {
        summary.stop_reason = StopReasonName(agreed.stop);
        break;
      }
      const auto update_start = common::Clock::now();
      update = ready->error.empty() ? trainer.Update(ready->batch) : trainer.Fail(ready->error);
      reporter.AddTimes(0, common::SecondsSince(update_start));
    } catch (const RanksLost& lost) {  // on the lead only
      RLREC_LOG(Error) << lost.what() << "; " << WhereRanksListen(lost, trajectory_endpoints)
                       << "; writing a final checkpoint of update " << counters.updates
                       << " and ending the job";
      summary.stop_reason = "learner_rank_lost";
      finish();
      throw;  // MpiWorld ends the job: the lost ranks cannot finalise
    }
    const auto after_start = common::Clock::now();
    AfterUpdate(config, run_dir.run_id(), update, trainer, intake, server.get(), totals, save,
                reporter, checkpoints, &counters);
    reporter.AddTimes(0, 0, common::SecondsSince(after_start));
  }

  finish();
  return summary;
}

}  // namespace rlrec::learner
