#ifndef RLREC_LEARNER_INTAKE_THREAD_H_
#define RLREC_LEARNER_INTAKE_THREAD_H_

#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base/deadline.h"
#include "common/config/config_keys.h"
#include "learner/batch_intake.h"
#include "learner/ranks/rank_report.h"
#include "learner/train/batch.h"
#include "learner/trajectory_receiver.h"

namespace rlrec::learner {

// A batch the IntakeThread made ready for an update.
struct ReadyBatch {
  Batch batch;        // on the training device, usable on the thread that took it (Next)
  std::string error;  // not empty: why the batch could not be made; its update is skipped
  // What was offered since the previous ready batch: env steps, sessions, trajectories dropped.
  RankReport report;
  std::vector<uint64_t> policy_versions;  // of its trajectories, for their lags when trained
  std::vector<uint32_t> actor_ids;        // of its trajectories (the lead admits them)
  double make_s = 0;                      // seconds spent stacking it and starting its copy
};

// A learner rank's intake, on a thread of its own so that it overlaps the updates: receives
// trajectories (TrajectoryReceiver: decode and checks), admits them into batches (BatchIntake,
// at the snapshot version the learner last set) and stacks each batch for the device (with a
// transformer encoder, its distinct impressions indexed: IndexDistinctHistory). On a
// CUDA device a batch is stacked into page-locked host memory and copied on a stream of the
// intake's own, so the next batch's copy runs while the current one trains. At most `ahead`
// batches are stacked before the learner asks for them; while they wait, and while the
// learner is not asking, the intake stops receiving and the actors' sends back up as they did
// before. Every stacked batch adds to the policy lag: a CUDA learner wants one ahead (its copy
// overlaps the update), a CPU learner none (it would only take cores from the update).
// Every public method but the constructor and destructor is for one other thread, the
// learner's.
class IntakeThread {
 public:
  // Batches stacked ahead of the learner on `device`: 1 on CUDA, else 0.
  static size_t AheadFor(torch::Device device) { return device.is_cuda() ? 1 : 0; }

  // Starts the thread on `receiver` (bound; owned from now on), admitting at `version`,
  // stacking at most `ahead` batches before the learner asks; `published_ahead`: how many
  // versions past this rank's the lead may have published (BatchIntake: 0 on the lead).
  IntakeThread(std::unique_ptr<TrajectoryReceiver> receiver, const common::RunConfig& config,
               torch::Device device, uint64_t version, size_t ahead, uint64_t published_ahead = 0);
  // Stops and joins the thread.
  ~IntakeThread();
  IntakeThread(const IntakeThread&) = delete;
  IntakeThread& operator=(const IntakeThread&) = delete;

  // The snapshot version the learner is at now: what later trajectories are admitted against.
  // Set it before publishing that version, so no trajectory of it is judged against the old.
  void SetVersion(uint64_t version) { version_.store(version, std::memory_order_release); }

  // The next ready batch, or nullopt if none is ready before `deadline`. On CUDA its tensors
  // are ordered after their copy on this thread's current stream. Rethrows what ended the
  // intake thread, if something did (a socket error).
  std::optional<ReadyBatch> Next(common::Deadline deadline);

  // Stops the thread and returns what it admitted that no batch taken by Next carried: the
  // batches still waiting and the trajectories short of a batch (env steps, sessions, drops;
  // no lags: they are never trained on). For a rank that stops.
  RankReport StopAndTakeUnused();

  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  uint64_t decode_errors() const { return decode_errors_.load(std::memory_order_relaxed); }
  // Seconds the thread has been busy (decoding, admitting, stacking and copying batches), not
  // waiting for trajectories or for room: its share of a window is the learner's decode share.
  double busy_s() const { return 1e-9 * double(busy_ns_.load(std::memory_order_relaxed)); }

 private:
  // A ready batch and, on CUDA, the event recorded after its copy was queued.
  struct Staged {
    ReadyBatch ready;
    std::shared_ptr<c10::Event> copied;
  };

  void Run();
  void Loop();
  // `trajectories` stacked for the device, or why they could not be.
  Staged Make(const std::vector<common::Trajectory>& trajectories);
  // Adds `seconds` to busy_s().
  void AddBusy(double seconds);
  void Stop();

  std::unique_ptr<TrajectoryReceiver> receiver_;
  const torch::Device device_;
  const bool distinct_history_;  // a transformer encoder: index the distinct impressions
  BatchIntake intake_;           // the intake thread's alone
  std::atomic<uint64_t> version_;
  std::atomic<uint64_t> received_{0}, decode_errors_{0};
  std::atomic<uint64_t> busy_ns_{0};
  std::atomic<bool> stopping_{false};

  std::mutex mutex_;
  std::condition_variable ready_cv_;  // a batch became ready, or the thread ended
  std::condition_variable space_cv_;  // the learner took a batch or asks, or stopping
  const size_t ahead_;
  bool asking_ = false;         // guarded: the learner waits in Next
  std::deque<Staged> ready_;    // guarded by mutex_
  RankReport pending_;          // guarded: offered since the last ready batch
  std::exception_ptr failure_;  // guarded: what ended the thread
  // CUDA: the stream the batches are copied on (the intake thread's current stream).
  std::optional<c10::Stream> copy_stream_;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_INTAKE_THREAD_H_
