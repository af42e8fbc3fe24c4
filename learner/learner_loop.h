#ifndef RLREC_LEARNER_LEARNER_LOOP_H_
#define RLREC_LEARNER_LEARNER_LOOP_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "common/config/config_keys.h"
#include "common/run/run_folder.h"
#include "common/transport/zmq_socket.h"
#include "learner/learner_summary.h"
#include "learner/ranks/mpi_world.h"

namespace rlrec::learner {

// Checks what a learner job needs beyond each key's own range: a synchronous run takes one
// rank and a known number of actors. Throws Error(kInvalidInput) saying why.
void CheckLearnerSettings(const common::RunConfig& config, int ranks);

// Trains, as rank world.rank() of world.size() data-parallel learners, until the budget
// (time, updates or env steps) is spent or `stop` becomes true on any rank. Every rank binds
// its own trajectory endpoint and trains on what arrives there (BatchIntake); gradients are
// averaged over the ranks before every step (Trainer), so all ranks hold the same
// parameters. The lead (rank 0) alone serves actors (LeadServer: control, with every rank's
// endpoint, and weight snapshots every learner.publish_every updates), reports progress
// (ProgressReporter: metrics.jsonl and a line on stdout) and checkpoints (CheckpointSchedule);
// it writes the run folder `run_dir` (created if missing): config.ini, metrics.jsonl, the
// ports and control endpoint files, checkpoints/. With `resume`, every rank first loads the
// newest checkpoint that loads (an error if none does), continues its counters, appends to
// metrics.jsonl and binds the ports of the ports file where the config leaves them 0.
// `context`, `stop` and `world` must outlive the call.
LearnerSummary RunLearner(const common::RunConfig& config, const common::RunDir& run_dir,
                          const common::ZmqContext& context, const std::atomic<bool>& stop,
                          const MpiWorld& world, bool resume = false);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEARNER_LOOP_H_
