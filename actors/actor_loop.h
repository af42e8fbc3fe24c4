#ifndef RLREC_ACTORS_ACTOR_LOOP_H_
#define RLREC_ACTORS_ACTOR_LOOP_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "actors/unroll_player.h"
#include "common/config/config.h"
#include "common/transport/zmq_socket.h"

namespace rlrec::actors {

// What one actor did, reported when it stops.
struct ActorStats {
  uint64_t unrolls_sent = 0;
  uint64_t env_steps = 0;
  uint64_t snapshots_applied = 0;  // snapshot swaps, the first load included
  uint64_t deltas_applied = 0;     // versions rebuilt from deltas (SnapshotCache)
  uint64_t refused_deltas = 0;     // deltas refused, each followed by a re-sync
  uint64_t refused_segments = 0;   // host shared snapshots refused (another run's or user's...)
  uint64_t refused_states = 0;     // states of the host's snapshot that failed their seal
  uint64_t takeovers = 0;          // silent receivers of the host this actor replaced
  bool shared_snapshot =
      false;              // acted on the host's shared snapshot (actors/snapshot/host_segment.h)
  bool receiver = false;  // and filled it, at the end
  uint64_t first_version = 0;
  uint64_t last_version = 0;
  uint64_t episodes = 0;
  double send_blocked_s = 0;  // time spent waiting on a full queue (back-pressure)
  ActorPhaseTimes times;      // where the time went
  std::string stop_reason;
};

// Runs one actor until the learner ends the run, `stop` becomes true, or the learner stays
// unreachable for transport.connect_timeout_s (then throws Error(kUnavailable)).
// Data path: snapshot → batched inference → simulator step → unroll buffer → encode → PUSH.
// `context` and `stop` must outlive the call.
ActorStats RunActor(const common::RunConfig& config, uint32_t actor_id,
                    const common::ZmqContext& context, const std::atomic<bool>& stop);

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_ACTOR_LOOP_H_
