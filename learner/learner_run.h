#ifndef RLREC_LEARNER_LEARNER_RUN_H_
#define RLREC_LEARNER_LEARNER_RUN_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config_keys.h"
#include "common/run/run_folder.h"
#include "common/transport/zmq_socket.h"
#include "learner/batch_intake.h"
#include "learner/checkpoint_schedule.h"
#include "learner/endpoints.h"
#include "learner/intake_thread.h"
#include "learner/lead_server.h"
#include "learner/learner_summary.h"
#include "learner/ranks/mpi_world.h"
#include "learner/ranks/rank_report.h"
#include "learner/report/progress_report.h"
#include "learner/report_sinks.h"
#include "learner/train/trainer.h"

namespace rlrec::learner {

// One learner rank's run (RunLearner): its state, and the steps of its data path, each a
// method: receive, update, publish, report, checkpoint, finish. The lead (rank 0) also serves
// actors, publishes snapshots, reports and checkpoints. `config`, `run_dir`, `context` and
// `world` must outlive it. Not thread-safe (the world's watchdog thread calls its last words
// only while this thread waits in a blocking all-reduce).
class LearnerRun {
 public:
  // Claims the run folder (the lead), builds the model, resumes from the newest checkpoint
  // that loads (`resume`), binds this rank's trajectory socket (and the lead's control and
  // weights), and starts the intake thread and the reports.
  LearnerRun(const common::RunConfig& config, const common::RunDir& run_dir,
             const common::ZmqContext& context, const MpiWorld& world, bool resume);
  // Trains until the budget is spent or `stop` becomes true on any rank.
  LearnerSummary Run(const std::atomic<bool>& stop);
  LearnerRun(const LearnerRun&) = delete;
  LearnerRun& operator=(const LearnerRun&) = delete;

 private:
  // The lead answers actors (a no-op on other ranks). Never blocks.
  void Serve();
  // This rank's next batch, nullopt when none is ready within a short wait or when it stops.
  std::optional<ReadyBatch> Receive(double served_s);
  // Agrees with the other ranks on a batch or on stopping, then updates: nullopt when they
  // agreed to stop.
  std::optional<UpdateResult> Update(const std::optional<ReadyBatch>& ready);
  // Counts the update and reports its terms; publishes, reports and checkpoints when due.
  void AfterUpdate(const UpdateResult& update);
  // Moves to the next snapshot version; the lead publishes it, full or a delta as due.
  void Publish();
  // The run as of now, for a report.
  RunTotals Totals() const;
  // Writes a checkpoint of the current weights and counters to `path`.
  void Save(const std::string& path);
  // Writes the final checkpoint (the lead), noting in the summary what came of it.
  void SaveFinal();
  // The end: the summary; on the lead the final row, the final checkpoint and the run-ended
  // message to the actors.
  void Finish();

  const common::RunConfig& config_;
  const common::RunDir& run_dir_;
  const MpiWorld& world_;
  const bool lead_;
  const double timeout_s_;
  const std::string config_ini_;
  const std::function<void(const std::string&)> save_ = [this](const std::string& path) {
    Save(path);
  };
  const std::unique_ptr<common::RunDirLock> lock_;
  Trainer trainer_;
  TrainingCounters counters_;
  const LearnerGuard guard_;
  std::vector<std::string> trajectory_endpoints_;
  std::unique_ptr<LeadServer> server_;
  std::unique_ptr<IntakeThread> intake_;
  std::unique_ptr<ProgressReporter> reporter_;
  std::unique_ptr<CheckpointSchedule> checkpoints_;
  RankReport mine_;    // this rank, since the last update
  RankReport agreed_;  // all ranks, at the last update: totals of received and decode errors
  std::unique_ptr<ReportSinks> sinks_;  // the lead's rows also go to TensorBoard and Prometheus
  LearnerSummary summary_;
  std::unique_ptr<ScopedLastWords> last_words_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEARNER_RUN_H_
