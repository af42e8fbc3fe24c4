#ifndef RLREC_COMMON_MODEL_MEMORY_PLAN_H_
#define RLREC_COMMON_MODEL_MEMORY_PLAN_H_

#include <cstdint>
#include <string>

#include "common/config/config_keys.h"

namespace rlrec::common {

// What the policy `config` describes costs in memory, known before anything is allocated.
// The item tables (item-id embedding and per-item score bias, (item_buckets + 1) rows) hold
// almost all of a large model; every other parameter is "dense".
struct MemoryPlan {
  uint64_t table_parameters = 0;  // (rows) x (embedding_dim + 1)
  uint64_t table_rows = 0;
  uint64_t dense_parameters = 0;
  // A learner: its weights, the latest full snapshot (the next is written into its memory,
  // learner/weight_publisher.h) and the deltas since (at most half of it), an eighth of
  // the weights for the pages a forked checkpoint makes it copy (learner/forked_task.h) and for
  // chunks in flight, and the optimiser's state
  // (Adam: two moments and a gradient per dense float, or per table float with
  // table_optimizer = adam; row_adagrad: one float per table row). A subscriber that stops
  // reading can hold a replaced full snapshot until its connection goes: one copy more.
  uint64_t learner_bytes = 0;
  // An actor with a private copy (actor.share_snapshot = false): the snapshot its policy reads
  // (a view, no copy), the next one being assembled, and chunks queued in its weights socket
  // (up to a snapshot; measured on configs/large.ini). With the host's shared snapshot: its
  // dense parameters, a few times over (the tables are views of the segment). With the
  // transformer encoder, plus its kept keys and values (actors/history_cache.h).
  uint64_t actor_bytes = 0;
  // Once per host that runs actors, with actor.share_snapshot: the shared snapshot, whose
  // actor.snapshot_copies copies (the one actors read, and the one its receiver assembles full
  // snapshots into: actors/snapshot/host_segment.h) are reserved whole when it is made, each with
  // its seal's block sums (1/512 of it), and an eighth of one for chunks in flight.
  uint64_t host_bytes = 0;

  uint64_t parameters() const { return table_parameters + dense_parameters; }
};

MemoryPlan PlanMemory(const RunConfig& config);

// Throws Error(kInvalidInput) before any work when `learners` learners and `actors` actors of
// PlanMemory(config) (and the host's shared snapshot, with actors) need more than this host has
// available now (MemAvailable of
// /proc/meminfo), naming the keys that size the tables and the bytes needed and available.
// No-op where /proc/meminfo is unreadable. Each process checks its own share at start; a
// launcher that starts several on one host checks them together first.
void CheckMemoryFits(const RunConfig& config, int learners, int actors);

// "2.56 GB": bytes in decimal units, for messages.
std::string HumanBytes(uint64_t bytes);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_MODEL_MEMORY_PLAN_H_
