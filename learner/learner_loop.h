#ifndef RLREC_LEARNER_LEARNER_LOOP_H_
#define RLREC_LEARNER_LEARNER_LOOP_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/zmq_socket.h"
#include "learner/mpi_world.h"

namespace rlrec::learner {

// Where the learner is and what it did, as reported at exit.
struct LearnerSummary {
  uint64_t updates = 0;
  uint64_t env_steps = 0;
  uint64_t trajectories = 0;
  uint64_t decode_errors = 0;
  uint64_t snapshot_version = 0;
  std::string stop_reason;
};

// Name of the file, in the run folder, that holds the lead's control endpoint from the time
// it is bound until the learner stops: launchers and tests read it to point actors at the
// learner.
inline constexpr char kControlEndpointFile[] = "control.endpoint";

// Name of the file, in the run folder, with the ports the learners bound ("control P",
// "weights P", "trajectory.R P" lines): a resumed run binds the same ones.
inline constexpr char kPortsFile[] = "ports";

// Trains, as rank world.rank() of world.size() data-parallel learners, until the budget
// (time, updates or env steps) is spent or `stop` becomes true on any rank. Every rank binds
// its own trajectory endpoint and trains on what arrives there; gradients are averaged over
// the ranks (learner/collective.h) before every step, so all ranks hold the same parameters.
// The lead (rank 0) alone serves control (handing actors every rank's endpoint), publishes
// snapshots and writes into `run_dir` (created if missing): config.ini (the effective
// configuration, `effective_ini`), metrics.jsonl (one row per report), the control endpoint
// file, the ports file, and checkpoints: checkpoints/ckpt-<updates>.pt every
// run.checkpoint_every updates and run.checkpoint_minutes minutes and at the end (the newest
// run.keep_checkpoints kept), the last also as checkpoints/final.pt; it prints a progress
// line per report to stdout. With `resume`, every rank first loads the newest checkpoint of
// run_dir/checkpoints that loads (older ones in turn if newer ones are bad; an error if none
// does), continues its counters, appends to metrics.jsonl and binds the ports of the ports
// file where the config leaves them 0.
// Data path: PULL → decode in place → batch → device → loss → backward → all-reduce → step
// → PUB.
LearnerSummary RunLearner(const common::RunConfig& config, const std::string& effective_ini,
                          const std::string& run_dir, const common::ZmqContext& context,
                          const std::atomic<bool>& stop, const MpiWorld& world,
                          bool resume = false);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEARNER_LOOP_H_
