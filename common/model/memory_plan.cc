#include "common/model/memory_plan.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/base/error.h"
#include "common/data/state_tensors.h"

namespace rlrec::common {
namespace {

// MemAvailable of /proc/meminfo in bytes, or 0 when it cannot be read.
uint64_t AvailableBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

}  // namespace

MemoryPlan PlanMemory(const RunConfig& config) {
  const uint64_t F = ObservationFeatures(config.sim.topics);
  const uint64_t D = config.model.hidden;
  const uint64_t E = config.model.embedding_dim > 0 ? config.model.embedding_dim : D;
  const uint64_t T = config.sim.topics;
  const uint64_t buckets =
      config.model.item_buckets > 0 ? config.model.item_buckets : config.sim.corpus_size;
  MemoryPlan plan;
  plan.table_rows = buckets + 1;
  plan.table_parameters = plan.table_rows * (E + 1);
  // As PolicyModelImpl registers them: topic embedding, response projection, the GRU, user,
  // item and value layers, the item projection when the widths differ.
  uint64_t dense = (T + 1) * D + (2 * D + D);
  if (config.model.user_encoder == UserEncoder::kGru) dense += 2 * (3 * D * D + 3 * D);
  if (config.model.user_encoder == UserEncoder::kTransformer) {
    // common/model/history_transformer.h: query, memory norm and projection, output norm; per layer
    // query norm and projection, output projection, feed-forward norm and block, age bias, null
    // logit and value.
    const uint64_t L = config.model.layers, A = config.model.heads;
    const uint64_t H = std::max(1, config.sim.history_length);
    const uint64_t W = config.model.ffn > 0 ? config.model.ffn : 4 * D;
    dense += D + 2 * D + (D * 2 * L * D + 2 * L * D) + 2 * D;
    dense += L * (2 * D + 2 * (D * D + D) + 2 * D + (D * W + W) + (W * D + D) + A * H + A + D);
  }
  dense += ((F + D) * D + D) + (D * D + D);      // user_in, user_out
  dense += (F * D + D) + (D * D + D) + (F + 1);  // item_in, item_out, item_bias
  dense += (D * D + D) + (D + 1);                // value_hidden, value_out
  if (E != D) dense += E * D;                    // item_projection
  plan.dense_parameters = dense;

  const uint64_t weights = 4 * plan.parameters();
  const bool row_adagrad = config.learner.table_optimizer == TableOptimizer::kRowAdagrad;
  const uint64_t optimizer =
      4 * 3 * dense + (row_adagrad ? 4 * 2 * plan.table_rows : 4 * 3 * plan.table_parameters);
  // Copy-on-write copies while a forked checkpoint is written, chunks in flight: an eighth.
  const uint64_t margin = weights / 8;
  // The deltas since the latest full snapshot, kept for joins: at most half of it (a quarter,
  // unless a full snapshot is postponed: WeightPublisher::PostponeFull).
  plan.learner_bytes = 2 * weights + weights / 2 + margin + optimizer;
  if (config.actor.share_snapshot) {
    plan.actor_bytes = 3 * 4 * plan.dense_parameters;
    // Each copy with its seal's block sums: 8 bytes per 4 KiB (actors/snapshot/state_seal.h).
    const uint64_t copies = static_cast<uint64_t>(config.actor.snapshot_copies);
    plan.host_bytes = copies * (weights + weights / 512) + margin;
  } else {
    plan.actor_bytes = 3 * weights;
  }
  if (config.model.user_encoder == UserEncoder::kTransformer) {
    // The incremental encoder's keys and values: every layer's, per user and history slot
    // (actors/history_cache.h).
    plan.actor_bytes += 4 * uint64_t(config.sim.users_per_actor) *
                        uint64_t(std::max(1, config.sim.history_length)) * 2 *
                        uint64_t(config.model.layers) * D;
  }
  return plan;
}

std::string HumanBytes(uint64_t bytes) {
  char out[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1e12) {
    std::snprintf(out, sizeof(out), "%.2f TB", b / 1e12);
  } else if (b >= 1e9) {
    std::snprintf(out, sizeof(out), "%.2f GB", b / 1e9);
  } else if (b >= 1e6) {
    std::snprintf(out, sizeof(out), "%.1f MB", b / 1e6);
  } else {
    std::snprintf(out, sizeof(out), "%.0f kB", b / 1e3);
  }
  return out;
}

void CheckMemoryFits(const RunConfig& config, int learners, int actors) {
  const uint64_t available = AvailableBytes();
  if (available == 0) return;
  const MemoryPlan plan = PlanMemory(config);
  const uint64_t host = actors > 0 ? plan.host_bytes : 0;
  const uint64_t need = learners * plan.learner_bytes + actors * plan.actor_bytes + host;
  if (need <= available) return;
  std::ostringstream s;
  s << learners << " learner(s) and " << actors << " actor(s) of this model need about "
    << HumanBytes(need) << " (" << HumanBytes(plan.learner_bytes) << " a learner, "
    << HumanBytes(plan.actor_bytes) << " an actor"
    << (host ? ", " + HumanBytes(host) + " the host's shared snapshot" : std::string())
    << ") and this host has " << HumanBytes(available) << " available: the item tables hold "
    << plan.table_parameters << " floats (" << plan.table_rows
    << " rows of model.item_buckets + 1 (0 there: sim.corpus_size) x "
    << "model.embedding_dim + 1)";
  if (learners > 0 && config.learner.table_optimizer == TableOptimizer::kAdam) {
    s << ", and learner.table_optimizer = adam keeps 3 more floats per table float "
         "(row_adagrad keeps 1 per row)";
  }
  if (host > 0 && config.actor.snapshot_copies > 1) {
    s << ", and the host's shared snapshot keeps " << config.actor.snapshot_copies
      << " copies of the model (actor.snapshot_copies = 1 keeps one)";
  }
  s << "; lower model.item_buckets, model.embedding_dim or the number of actors, or run on a "
       "larger host";
  throw InvalidInput(s.str());
}

}  // namespace rlrec::common
