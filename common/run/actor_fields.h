#ifndef RLREC_COMMON_RUN_ACTOR_FIELDS_H_
#define RLREC_COMMON_RUN_ACTOR_FIELDS_H_

#include <cstddef>

#include "common/run/metrics_fields.h"

namespace rlrec::common {

// Where an actor's time goes, as its reports say (control.capnp: the seconds of each) and as
// actors.jsonl and Prometheus show it (the share of each).
enum class ActorPhase { kSimulate, kInfer, kEncode, kSendBlocked };
struct ActorPhaseName {
  ActorPhase id;
  const char* name;  // a report's "<name> time", the Prometheus phase label
};
inline constexpr ActorPhaseName kActorPhases[] = {
    {ActorPhase::kSimulate, "simulate"},
    {ActorPhase::kInfer, "infer"},
    {ActorPhase::kEncode, "encode"},
    {ActorPhase::kSendBlocked, "send_blocked"},
};
constexpr const char* NameOf(ActorPhase phase) {
  return kActorPhases[static_cast<size_t>(phase)].name;
}

// The fields of an actors.jsonl row (the lead's view of one actor, at each of its reports), in
// the order a row holds them.
enum class ActorField {
  kTime,
  kActorId,
  kHost,
  kPid,
  kState,
  kUptimeS,
  kEnvSteps,
  kEnvStepsPerS,
  kSnapshotVersion,
  kLag,
  kSimulateShare,
  kInferShare,
  kEncodeShare,
  kSendBlockedShare,
  kInferMsPerUnroll,
  kLastSeen,
};

// One field of an actors.jsonl row, declared once: the lead's writer, the per-actor Prometheus
// gauges and `rlrec status` take its name from here.
struct ActorFieldSpec {
  ActorField id;
  const char* name;        // the JSON key in actors.jsonl
  FieldKind kind;          // the range of its values (text fields: kCount, unused)
  const char* prometheus;  // its per-actor gauge, or nullptr (phases: one gauge, by label)
  const char* help;
};

inline constexpr ActorFieldSpec kActorFields[] = {
    {ActorField::kTime, "time", FieldKind::kSeconds, nullptr, "Unix time of the row"},
    {ActorField::kActorId, "actor_id", FieldKind::kCount, nullptr, "the actor's id"},
    {ActorField::kHost, "host", FieldKind::kCount, nullptr, "the actor's host"},
    {ActorField::kPid, "pid", FieldKind::kCount, nullptr, "the actor's process id"},
    {ActorField::kState, "state", FieldKind::kCount, nullptr, "alive, leaving or lost"},
    {ActorField::kUptimeS, "uptime_s", FieldKind::kSeconds, nullptr,
     "seconds since the actor started"},
    {ActorField::kEnvSteps, "env_steps", FieldKind::kCount, "rlrec_actor_env_steps",
     "environment steps the actor has sent since it started"},
    {ActorField::kEnvStepsPerS, "env_steps_per_s", FieldKind::kRate,
     "rlrec_actor_env_steps_per_second", "the actor's environment steps per second"},
    {ActorField::kSnapshotVersion, "snapshot_version", FieldKind::kCount,
     "rlrec_actor_snapshot_version", "the snapshot the actor acts with"},
    {ActorField::kLag, "lag", FieldKind::kCount, "rlrec_actor_policy_lag",
     "snapshots the actor is behind the lead's newest"},
    {ActorField::kSimulateShare, "simulate_share", FieldKind::kShare, nullptr,
     "share of the actor's time simulating users"},
    {ActorField::kInferShare, "infer_share", FieldKind::kShare, nullptr,
     "share of the actor's time in policy inference"},
    {ActorField::kEncodeShare, "encode_share", FieldKind::kShare, nullptr,
     "share of the actor's time encoding unrolls"},
    {ActorField::kSendBlockedShare, "send_blocked_share", FieldKind::kShare, nullptr,
     "share of the actor's time blocked on a full send queue"},
    {ActorField::kInferMsPerUnroll, "infer_ms_per_unroll", FieldKind::kSeconds,
     "rlrec_actor_inference_ms", "milliseconds of policy inference per unroll"},
    {ActorField::kLastSeen, "last_seen", FieldKind::kSeconds, nullptr,
     "Unix time of the actor's last report"},
};

// Whether every row of the two tables stands at the index of its id.
constexpr bool ActorTablesInOrder() {
  for (size_t i = 0; i < sizeof(kActorFields) / sizeof(kActorFields[0]); ++i) {
    if (static_cast<size_t>(kActorFields[i].id) != i) return false;
  }
  for (size_t i = 0; i < sizeof(kActorPhases) / sizeof(kActorPhases[0]); ++i) {
    if (static_cast<size_t>(kActorPhases[i].id) != i) return false;
  }
  return true;
}
static_assert(ActorTablesInOrder(), "kActorFields and kActorPhases must follow their enums");

constexpr const ActorFieldSpec& FieldOf(ActorField field) {
  return kActorFields[static_cast<size_t>(field)];
}
// Its JSON key: NameOf(ActorField::kSendBlockedShare) is "send_blocked_share".
constexpr const char* NameOf(ActorField field) { return FieldOf(field).name; }

}  // namespace rlrec::common

#endif  // RLREC_COMMON_RUN_ACTOR_FIELDS_H_
