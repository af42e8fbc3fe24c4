#ifndef RLREC_COMMON_RUN_BOTTLENECK_H_
#define RLREC_COMMON_RUN_BOTTLENECK_H_

#include <string>

namespace rlrec::common {

// Where a run's time goes, as shares of a report window in [0, 1] (NaN: not known, as for
// actors before their first report). The learner's shares are of its main loop, except
// `learner_decode`, the intake thread's busy time (receive, decode, batch); the actors'
// are means over the actors that reported in the window.
struct TimeShares {
  double learner_wait = 0;     // no batch to train: waiting for trajectories
  double learner_decode = 0;   // the intake thread decoding and stacking batches
  double learner_compute = 0;  // updates: forward, backward, gradient exchange, step
  double learner_publish = 0;  // snapshots out, control answered, checkpoints started
  double actor_simulate = 0;
  double actor_infer = 0;  // the policy's forward pass and slate sampling
  double actor_encode = 0;
  double actor_send_blocked = 0;  // waiting on a full send queue: the learners are behind
};

// Which side limits a run.
enum class Bottleneck { kUnknown, kBalanced, kLearner, kActors, kIntake };

struct Diagnosis {
  Bottleneck side = Bottleneck::kUnknown;
  // One phrase for the progress line ("learner-bound: actors blocked 71% on send"); empty
  // unless one side clearly limits the run.
  std::string phrase;
};

// Shares at or above this on the limiting side, and below kClearShare on the other, make a
// diagnosis.
inline constexpr double kBoundShare = 0.5;
inline constexpr double kClearShare = 0.2;

// The diagnosis of `shares`:
//   learner-bound: actors blocked N% on send   (the learners cannot keep up with the actors)
//   actor-bound: learner waits N%               (the actors cannot feed the learner)
//   intake-bound: learner decodes N%            (the learner waits, its intake thread is busy)
// kBalanced (no phrase) when neither side clearly limits; kUnknown when the learner's shares
// are not known.
Diagnosis Diagnose(const TimeShares& shares);

// The shares of a metrics.jsonl row (its learner_*_share, device_busy_share and actor_*_share
// fields); missing fields are NaN.
TimeShares SharesOfRow(const std::string& json_row);

// What relieves `side`, in a sentence for people starting runs with `rlrec train`; empty for
// kBalanced and kUnknown.
std::string Relief(Bottleneck side, int actors, int cores);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_BOTTLENECK_H_
