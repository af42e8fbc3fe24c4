#ifndef RLREC_COMMON_RUN_METRICS_FIELDS_H_
#define RLREC_COMMON_RUN_METRICS_FIELDS_H_

#include <cstddef>
#include <string>

namespace rlrec::common {

// What kind of number a reported field holds: the range its values may take
// (learner/report/metrics_rule.h refuses any other before a sink sees it).
enum class FieldKind {
  kCount,    // counts, versions and lags: [0, 2^53], exact in a double
  kRate,     // per second, of environment steps: [0, 1e12]
  kUpdates,  // updates per second: [0, 1e9]
  kShare,    // of a window's time: [0, 1]
  kSeconds,  // durations and Unix times: [0, 1e10]
  kLoss,     // loss terms and mean_rho: [-1e30, 1e30]
  kReturn,   // session returns: within what the run's world can pay (given with the row)
};

// The fields of a metrics row, in the order a row holds them (metrics.jsonl).
enum class Metric {
  kTimeS,
  kUpdate,
  kEnvSteps,
  kEnvStepsPerS,
  kUpdatesPerS,
  kPolicyLoss,
  kValueLoss,
  kEntropy,
  kTotalLoss,
  kMeanReturn,
  kEpisodes,
  kPolicyLagMin,
  kPolicyLagMean,
  kPolicyLagMax,
  kTrajectoriesReceived,
  kDecodeErrors,
  kDroppedStale,
  kFutureVersions,
  kSkippedUpdates,
  kFailedCheckpoints,
  kMeanRho,
  kSnapshotVersion,
  kActorsSeen,
  kLearnerRanks,
  kLearnerWaitShare,
  kDeviceBusyShare,
  kLearnerDecodeShare,
  kLearnerPublishShare,
  kActorsAlive,
  kActorsLost,
  kActorsLostTotal,
  kActorEnvStepsPerS,
  kActorSimulateShare,
  kActorInferShare,
  kActorEncodeShare,
  kActorSendBlockedShare,
  kCheckpointAgeS,
  kWallTime,
  kFinal,
};

// One field of the metrics row, declared once: every reader and writer of rows (the learner's
// row and progress line, metrics.jsonl, TensorBoard, Prometheus, the bottleneck diagnosis,
// `rlrec status` and `rlrec plot`) takes its name and what it is from here.
struct MetricsField {
  Metric id;
  const char* name;     // the JSON key in metrics.jsonl
  FieldKind kind;       // the range of its values
  const char* group;    // TensorBoard tag group ("train/policy_loss"); "" when not plotted
  const char* counter;  // a running total: its Prometheus counter; nullptr for a gauge
  bool exported;        // served to Prometheus (as the counter, or as gauge rlrec_<name>)
  const char* unit;
  const char* help;  // one line: what it says (Prometheus HELP)
};

// Every field, in row order (kMetricsFields[i].id == Metric(i)).
inline constexpr MetricsField kMetricsFields[] = {
    {Metric::kTimeS, "time_s", FieldKind::kSeconds, "throughput", nullptr, true, "seconds",
     "seconds since the learner started"},
    {Metric::kUpdate, "update", FieldKind::kCount, "", "rlrec_updates_total", true, "updates",
     "optimiser updates so far, skipped ones included"},
    {Metric::kEnvSteps, "env_steps", FieldKind::kCount, "throughput", "rlrec_env_steps_total", true,
     "steps", "environment steps trained on so far"},
    {Metric::kEnvStepsPerS, "env_steps_per_s", FieldKind::kRate, "throughput", nullptr, true,
     "steps/s", "environment steps per second over the report's window"},
    {Metric::kUpdatesPerS, "updates_per_s", FieldKind::kUpdates, "throughput", nullptr, true,
     "updates/s", "optimiser updates per second over the window"},
    {Metric::kPolicyLoss, "policy_loss", FieldKind::kLoss, "train", nullptr, true, "",
     "mean policy loss of the window's updates"},
    {Metric::kValueLoss, "value_loss", FieldKind::kLoss, "train", nullptr, true, "",
     "mean value loss of the window's updates"},
    {Metric::kEntropy, "entropy", FieldKind::kLoss, "train", nullptr, true, "",
     "mean entropy of the window's updates"},
    {Metric::kTotalLoss, "total_loss", FieldKind::kLoss, "train", nullptr, true, "",
     "mean total loss of the window's updates"},
    {Metric::kMeanReturn, "mean_return", FieldKind::kReturn, "train", nullptr, true, "",
     "mean return of the user sessions that ended in the window"},
    {Metric::kEpisodes, "episodes", FieldKind::kCount, "train", nullptr, true, "sessions",
     "user sessions that ended in the window"},
    {Metric::kPolicyLagMin, "policy_lag_min", FieldKind::kCount, "lag", nullptr, true, "snapshots",
     "least policy lag of the window's trajectories"},
    {Metric::kPolicyLagMean, "policy_lag_mean", FieldKind::kCount, "lag", nullptr, true,
     "snapshots", "mean policy lag of the window's trajectories"},
    {Metric::kPolicyLagMax, "policy_lag_max", FieldKind::kCount, "lag", nullptr, true, "snapshots",
     "greatest policy lag of the window's trajectories"},
    {Metric::kTrajectoriesReceived, "trajectories_received", FieldKind::kCount, "throughput",
     "rlrec_trajectories_total", true, "trajectories", "trajectories received so far"},
    {Metric::kDecodeErrors, "decode_errors", FieldKind::kCount, "errors",
     "rlrec_decode_errors_total", true, "messages", "messages dropped as malformed so far"},
    {Metric::kDroppedStale, "dropped_stale", FieldKind::kCount, "lag", "rlrec_dropped_stale_total",
     true, "trajectories", "trajectories dropped for a lag over learner.max_policy_lag so far"},
    {Metric::kFutureVersions, "future_versions", FieldKind::kCount, "run",
     "rlrec_future_versions_total", true, "trajectories",
     "trajectories refused for a snapshot the lead never published, so far"},
    {Metric::kSkippedUpdates, "skipped_updates", FieldKind::kCount, "train",
     "rlrec_skipped_updates_total", true, "updates",
     "updates that left the weights unchanged (a failing or non-finite update) so far"},
    {Metric::kFailedCheckpoints, "failed_checkpoints", FieldKind::kCount, "errors",
     "rlrec_failed_checkpoints_total", true, "checkpoints",
     "checkpoints that could not be written so far"},
    {Metric::kMeanRho, "mean_rho", FieldKind::kLoss, "train", nullptr, true, "",
     "mean clipped V-trace importance weight of the window's updates"},
    {Metric::kSnapshotVersion, "snapshot_version", FieldKind::kCount, "lag", nullptr, true,
     "version", "the newest snapshot version"},
    {Metric::kActorsSeen, "actors_seen", FieldKind::kCount, "actors", nullptr, true, "actors",
     "actors whose trajectories the lead has taken in this run, resumes included"},
    {Metric::kLearnerRanks, "learner_ranks", FieldKind::kCount, "learner", nullptr, true, "ranks",
     "learner ranks of the job"},
    {Metric::kLearnerWaitShare, "learner_wait_share", FieldKind::kShare, "learner", nullptr, true,
     "share", "share of the window the learner had no batch to train: waiting for actors"},
    {Metric::kDeviceBusyShare, "device_busy_share", FieldKind::kShare, "learner", nullptr, true,
     "share", "share of the window spent inside updates"},
    {Metric::kLearnerDecodeShare, "learner_decode_share", FieldKind::kShare, "learner", nullptr,
     true, "share", "share of the window the intake thread spent decoding and stacking"},
    {Metric::kLearnerPublishShare, "learner_publish_share", FieldKind::kShare, "learner", nullptr,
     true, "share",
     "share of the window spent publishing snapshots, answering control, reporting and "
     "checkpointing"},
    {Metric::kActorsAlive, "actors_alive", FieldKind::kCount, "actors", nullptr, true, "actors",
     "actors reporting now"},
    {Metric::kActorsLost, "actors_lost", FieldKind::kCount, "actors", nullptr, true, "actors",
     "actors silent past run.actor_timeout_s now"},
    {Metric::kActorsLostTotal, "actors_lost_total", FieldKind::kCount, "actors",
     "rlrec_actors_lost_total", true, "actors", "actors lost so far"},
    {Metric::kActorEnvStepsPerS, "actor_env_steps_per_s", FieldKind::kRate, "actors", nullptr, true,
     "steps/s", "mean environment steps per second of the alive actors"},
    {Metric::kActorSimulateShare, "actor_simulate_share", FieldKind::kShare, "actors", nullptr,
     true, "share", "mean share of the alive actors' time spent simulating users"},
    {Metric::kActorInferShare, "actor_infer_share", FieldKind::kShare, "actors", nullptr, true,
     "share", "mean share of the alive actors' time spent in policy inference"},
    {Metric::kActorEncodeShare, "actor_encode_share", FieldKind::kShare, "actors", nullptr, true,
     "share", "mean share of the alive actors' time spent encoding unrolls"},
    {Metric::kActorSendBlockedShare, "actor_send_blocked_share", FieldKind::kShare, "actors",
     nullptr, true, "share",
     "mean share of the alive actors' time spent blocked on a full send queue"},
    {Metric::kCheckpointAgeS, "checkpoint_age_s", FieldKind::kSeconds, "learner", nullptr, true,
     "seconds", "seconds since the newest checkpoint was written"},
    {Metric::kWallTime, "wall_time", FieldKind::kSeconds, "", nullptr, false, "seconds",
     "Unix time of the row"},
    {Metric::kFinal, "final", FieldKind::kCount, "", nullptr, false, "", "1 on the last row"},
};
inline constexpr size_t kMetricCount = sizeof(kMetricsFields) / sizeof(kMetricsFields[0]);

// Whether every row of kMetricsFields stands at the index of its id.
constexpr bool MetricsFieldsInOrder() {
  for (size_t i = 0; i < kMetricCount; ++i) {
    if (static_cast<size_t>(kMetricsFields[i].id) != i) return false;
  }
  return true;
}
static_assert(MetricsFieldsInOrder(), "kMetricsFields must list the fields in Metric order");

// The field `metric` names.
constexpr const MetricsField& FieldOf(Metric metric) {
  return kMetricsFields[static_cast<size_t>(metric)];
}
// Its JSON key: NameOf(Metric::kDecodeErrors) is "decode_errors".
constexpr const char* NameOf(Metric metric) { return FieldOf(metric).name; }
// The field whose JSON key is `name`, or nullptr for a key no row holds.
const MetricsField* FindMetric(const std::string& name);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_METRICS_FIELDS_H_
