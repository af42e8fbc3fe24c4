#ifndef RLREC_COMMON_CONFIG_CONFIG_KEYS_H_
#define RLREC_COMMON_CONFIG_CONFIG_KEYS_H_

#include <cstdint>
#include <string>

#include "common/config/choices.h"

// The one home of every configuration key. Each key is one line of the table below: its
// section and name (the key "learner.batch_trajectories" is [learner] batch_trajectories in a
// file and --learner.batch_trajectories on a command line), type, default, allowed range and
// help. From the table come the RunConfig struct (below), the command-line and INI options,
// --help, config.ini and the range checks (common/config/config.cc). Rules that tie several keys
// together are the CrossKeyRules at the end of this file. Defaults are those of the small
// local job (configs/local.ini).

namespace rlrec::common {

// The values a numeric key may take, or what a text key may hold. Constant
// expressions, written in the table as Closed(1, 4096), OpenClosed(0, 3600), ... Every
// numeric key is bounded on both sides: no timeout, size or count can overflow what reads it.
struct Range {
  enum class Kind { kAny, kNumeric, kNotEmpty, kFileName };
  Kind kind = Kind::kAny;
  bool has_low = false, has_high = false;
  bool low_open = false, high_open = false;  // an open end excludes its bound
  double low = 0, high = 0;
};
constexpr Range Any() { return {}; }
constexpr Range NotEmpty() { return {Range::Kind::kNotEmpty}; }
// A plain name for a folder within another: letters, digits and ._-+@=, not starting with
// '.' or '-' (so never a path or ".."); empty allowed.
constexpr Range FileName() { return {Range::Kind::kFileName}; }
// [low, high], (low, high), (low, high], [low, high)
constexpr Range Closed(double low, double high) {
  return {Range::Kind::kNumeric, true, true, false, false, low, high};
}
constexpr Range Open(double low, double high) {
  return {Range::Kind::kNumeric, true, true, true, true, low, high};
}
constexpr Range OpenClosed(double low, double high) {
  return {Range::Kind::kNumeric, true, true, true, false, low, high};
}
constexpr Range ClosedOpen(double low, double high) {
  return {Range::Kind::kNumeric, true, true, false, true, low, high};
}

// X(section, key, type, default, range, help) for every key of each section, in the order
// --help and config.ini list them.
// clang-format off
#define RLREC_RUN_KEYS(X)                                                                          \
  X(run, name, std::string, "", FileName(),                                                        \
    "run folder name under run.runs_root (empty: dated name)")                                     \
  X(run, runs_root, std::string, "runs", NotEmpty(), "folder that holds run folders")              \
  X(run, seed, uint64_t, 1, Any(), "seed of every random stream of the run")                       \
  X(run, budget_seconds, double, 120, Closed(0, 1e9),                                              \
    "wall-clock training budget in seconds (0: none)")                                             \
  X(run, max_updates, uint64_t, 0, Closed(0, 1e15), "stop after this many updates (0: no limit)")  \
  X(run, max_env_steps, uint64_t, 0, Closed(0, 1e18),                                              \
    "stop after this many environment steps (0: no limit)")                                        \
  X(run, report_every_s, double, 2, OpenClosed(0, 5),                                              \
    "seconds between progress lines and metrics.jsonl rows")                                       \
  X(run, checkpoint_every, uint64_t, 1000, Closed(0, 1e12),                                        \
    "write a checkpoint every this many updates (0: only by time and at the end)")                 \
  X(run, checkpoint_minutes, double, 2, Closed(0, 10080),                                          \
    "write a checkpoint every this many minutes (0: only by updates and at the end)")              \
  X(run, keep_checkpoints, int, 3, Closed(1, 1000), "newest checkpoints to keep")                  \
  X(run, report_every_updates, uint64_t, 0, Closed(0, 1e12),                                       \
    "write progress rows every this many updates instead (0: every report_every_s; "               \
    "synchronous runs then use 10, so their rows are reproducible)")                              \
  X(run, tensorboard, bool, true, Any(),                                                           \
    "the lead learner writes TensorBoard event files into RUN_DIR/tb/ at each report")            \
  X(run, metrics_port, int, 0, Closed(0, 65535),                                                   \
    "port of the lead learner's Prometheus /metrics on run.metrics_host (0: off)")                 \
  X(run, metrics_host, std::string, "", Any(),                                                     \
    "address the Prometheus endpoint listens on (empty: transport.host; 0.0.0.0: every "           \
    "interface, for a Prometheus on another host: then set run.metrics_auth_file too)")            \
  X(run, metrics_auth_file, std::string, "", Any(),                                                \
    "file holding user:password (owner-only, chmod 600): /metrics then asks for HTTP basic "       \
    "authentication with them (empty: no authentication)")                                         \
  X(run, group_readable, bool, false, Any(),                                                       \
    "the run's files and folders are readable by the owner's group too (umask 027); otherwise "    \
    "owner-only (umask 077)")                                                                      \
  X(run, actor_timeout_s, double, 30, OpenClosed(0, 86400),                                        \
    "an actor that sends no report for this long is logged as lost (actors report every "         \
    "run.report_every_s)")                                                                    \
  X(run, actors_log_mb, double, 256, Closed(0.001, 1e6),                                           \
    "actors.jsonl moves to actors.jsonl.1 (replacing it) when it passes this many MiB, so the "    \
    "two hold at most about twice this")

#define RLREC_SIM_KEYS(X)                                                                          \
  X(sim, users_per_actor, int, 32, Closed(1, 65536), "users each actor steps as one batch (E)")    \
  X(sim, candidates, int, 10, Closed(1, 100000), "candidate items offered per step (C)")           \
  X(sim, slate_size, int, 2, Closed(1, 100000), "items recommended per step (K <= C)")             \
  X(sim, topics, int, 20, Closed(1, 4096), "number of item topics")                                \
  X(sim, time_budget, double, 200, OpenClosed(0, 1e6), "session time budget of each user")         \
  X(sim, observe_interests, bool, false, Any(),                                                    \
    "the agent sees true interests instead of the user's history (true/false)")                    \
  X(sim, choice, ChoiceModel, ChoiceModel::kProportional, Any(),                                   \
    "user choice model: proportional to attractiveness, or multinomial logit (mnl)")               \
  X(sim, choice_temperature, double, 1.0, OpenClosed(0, 1e6),                                      \
    "temperature of the multinomial-logit choice")                                                 \
  X(sim, position_bias, double, 1.0, OpenClosed(0, 1),                                             \
    "attractiveness factor per slate position (bias^position; 1: no position effect)")             \
  X(sim, corpus_size, int, 0, Closed(0, 1 << 30),                                                  \
    "items of a fixed corpus with stable ids (0: fresh documents every step)")                     \
  X(sim, popularity_skew, double, 0, Closed(0, 10),                                                \
    "Zipf exponent of candidate draws from the corpus (0: uniform)")                               \
  X(sim, item_lifetime, int, 0, Closed(0, 1e9),                                                    \
    "steps before a corpus item is replaced by a new one (0: never)")                              \
  X(sim, cold_start_rate, double, 1.0, Closed(0, 1),                                               \
    "share of users who arrive without history (1: all, as in RecSim)")                            \
  X(sim, history_length, int, 10, Closed(0, 1000),                                                 \
    "past impressions (item, topic, response) of the user the agent sees (H)")                     \
  X(sim, interest_drift, double, 0, Closed(0, 1),                                                  \
    "per-step standard deviation of a random walk of interests (0: none)")

#define RLREC_MODEL_KEYS(X)                                                                        \
  X(model, hidden, int, 64, Closed(1, 65536), "width of the user encoder and item embeddings")     \
  X(model, temperature, double, 1.0, OpenClosed(0, 1e6), "softmax temperature of slate sampling")  \
  X(model, epsilon, double, 0.0, ClosedOpen(0, 1),                                                 \
    "share of slates the actors draw uniformly at random, for exploration")                        \
  X(model, user_encoder, UserEncoder, UserEncoder::kPooled, Any(),                                 \
    "encoder of the user's history: pooled (mean of impression embeddings), gru, or transformer "  \
    "(model.layers of multi-head attention over the history; see docs/learning.md)")               \
  X(model, layers, int, 2, Closed(1, 64), "transformer: attention layers")                         \
  X(model, heads, int, 4, Closed(1, 256),                                                          \
    "transformer: attention heads per layer (model.hidden must be a multiple)")                    \
  X(model, ffn, int, 0, Closed(0, 262144),                                                         \
    "transformer: width of each layer's feed-forward block (0: 4 x model.hidden)")                 \
  X(model, item_buckets, int, 0, Closed(0, 100000000),                                             \
    "rows of the item-id embedding, ids taken modulo it (0: sim.corpus_size; no item-id "          \
    "embedding when both are 0)")                                                                  \
  X(model, embedding_dim, int, 0, Closed(0, 65536),                                                \
    "width of the item-id embedding rows (0: model.hidden; otherwise projected to model.hidden); " \
    "the item table holds (item_buckets + 1) x (embedding_dim + 1) floats")

#define RLREC_LEARNER_KEYS(X)                                                                      \
  X(learner, device, Device, Device::kCpu, Any(), "device of the learner")                         \
  X(learner, batch_trajectories, int, 4, Closed(1, 4096), "trajectories per update")               \
  X(learner, learning_rate, double, 1e-3, Open(0, 1), "Adam learning rate")                        \
  X(learner, table_optimizer, TableOptimizer, TableOptimizer::kAdam, Any(),                        \
    "update of the item tables: adam (dense, with the other parameters: 3 extra floats per "       \
    "table entry, every entry touched by every step) or row_adagrad (sparse: only the rows a "     \
    "batch touches are exchanged and updated, 1 extra float per row)")                             \
  X(learner, table_learning_rate, double, 0.05, Open(0, 100),                                      \
    "learning rate of row_adagrad on the item tables")                                             \
  X(learner, discount, double, 0.95, Closed(0, 1), "discount factor gamma")                        \
  X(learner, value_coef, double, 0.5, Closed(0, 1e6), "weight of the value loss")                  \
  X(learner, entropy_coef, double, 0.01, Closed(0, 1e6), "weight of the entropy bonus")            \
  X(learner, max_grad_norm, double, 40, Closed(0, 1e9), "gradient norm clip (0: no clipping)")     \
  X(learner, publish_every, int, 2, Closed(1, 1e6),                                                \
    "publish a weight snapshot every this many updates")                                           \
  X(learner, objective, Objective, Objective::kVTrace, Any(),                                      \
    "loss: vtrace (IMPALA, corrects for policy lag), topk_reinforce (REINFORCE with the "          \
    "top-K off-policy correction) or pg (on-policy policy gradient)")                              \
  X(learner, rho_bar, double, 1.0, OpenClosed(0, 1e6), "V-trace clip of the importance weights")   \
  X(learner, c_bar, double, 1.0, OpenClosed(0, 1e6), "V-trace clip of the trace weights")          \
  X(learner, importance_cap, double, 5.0, OpenClosed(0, 1e6),                                      \
    "topk_reinforce: cap of the slate importance weight pi / mu")                                  \
  X(learner, max_policy_lag, int, 0, Closed(0, 1e9),                                               \
    "drop trajectories more than this many snapshots old (0: keep all)")                           \
  X(learner, threads, int, 1, Closed(1, 256), "LibTorch threads of the learner")                   \
  X(learner, precision, Precision, Precision::kFp32, Any(),                                        \
    "arithmetic of the learner's forward pass and loss: fp32, or bf16 (CUDA autocast; the "        \
    "weights, gradients and optimizer stay fp32; needs learner.device = cuda)")                    \
  X(learner, bucket_mib, double, 25, OpenClosed(0, 4096),                                          \
    "size of the gradient buckets all-reduced across learner ranks, in MiB")                       \
  X(learner, collective_timeout_s, double, 600, OpenClosed(0, 86400),                              \
    "longest wait, in seconds, for the other learner ranks at an update (a rank whose actors "     \
    "send nothing holds the others up); then the lead names the missing ranks, writes a final "    \
    "checkpoint and ends the job with an error")                                                   \
  X(learner, synchronous, bool, false, Any(),                                                      \
    "lockstep mode: each actor waits for every new snapshot, each update takes one unroll "        \
    "from every actor (actor.count of them) in actor-id order; with a fixed seed and "             \
    "run.max_updates, two runs give the same metrics and weights bit for bit")

#define RLREC_ACTOR_KEYS(X)                                                                        \
  X(actor, count, int, 0, Closed(0, 4096), "actors the local launcher starts (0: one per core)")   \
  X(actor, unroll, int, 20, Closed(1, 65536), "steps per trajectory (T)")                          \
  X(actor, threads, int, 1, Closed(1, 256), "LibTorch threads of each actor")                     \
  X(actor, share_snapshot, bool, true, Any(),                                                      \
    "the actors of a host act on one shared copy of the policy in actor.shm_dir, filled by one "   \
    "of them (false: each actor receives and holds its own)")                                      \
  X(actor, shm_dir, std::string, "/dev/shm", NotEmpty(),                                           \
    "folder (a tmpfs) of the host's shared snapshot files, kept in a folder rlrec-<uid> of "       \
    "mode 0700 there")                                                                             \
  X(actor, snapshot_copies, int, 2, Closed(1, 2),                                                  \
    "copies of the policy in the host's shared snapshot: 2 keeps the last good version while a "   \
    "full snapshot arrives and is checked; 1 (hosts short of memory) saves a copy of the model, "  \
    "but a full snapshot refused after it arrived, or one that never completes, leaves the "       \
    "host's actors waiting until the next one")                                                    \
  X(actor, receiver_timeout_s, double, 10, OpenClosed(0, 3600),                                    \
    "an actor of the host replaces the one that receives the shared snapshot (ending it) when it " \
    "has been silent this many seconds (stopped or stalled)")                                      \
  X(actor, lag_warning, int, 50, Closed(1, 1e9),                                                   \
    "an actor whose weights are this many snapshots behind the learner's newest (as the answers "  \
    "to its reports tell) says so in its log, at most every 10 s")

#define RLREC_TRANSPORT_KEYS(X)                                                                    \
  X(transport, host, std::string, "127.0.0.1", NotEmpty(),                                         \
    "address the learner binds and advertises")                                                    \
  X(transport, advertise_host, std::string, "", Any(),                                             \
    "name or address the learners advertise to actors instead (empty: transport.host, or the "     \
    "host name when that is 0.0.0.0)")                                                             \
  X(transport, control_port, int, 0, Closed(0, 65535),                                             \
    "learner control port (0: pick a free one)")                                                   \
  X(transport, trajectory_port, int, 0, Closed(0, 65535),                                          \
    "learner trajectory port (0: pick a free one; rank r takes this + r)")                         \
  X(transport, weights_port, int, 0, Closed(0, 65535),                                             \
    "learner weights port (0: pick a free one)")                                                   \
  X(transport, control, std::string, "", Any(),                                                    \
    "actors: the lead learner's control endpoint, e.g. tcp://10.0.0.1:5555")                       \
  X(transport, request_timeout_s, double, 2, OpenClosed(0, 3600),                                  \
    "deadline of each control request in seconds")                                                 \
  X(transport, request_retries, int, 3, Closed(0, 1000),                                           \
    "retries of an unanswered control request")                                                    \
  X(transport, connect_timeout_s, double, 60, OpenClosed(0, 86400),                                \
    "actors: seconds to keep trying to reach the learner before giving up")                        \
  X(transport, weights_chunk_kib, int, 1024, Closed(1, 1 << 20),                                   \
    "size of one weight snapshot chunk in KiB")                                                    \
  X(transport, weights_republish_s, double, 1, OpenClosed(0, 3600),                                \
    "seconds between re-publications of the latest snapshot, for actors that lost a chunk "       \
    "(an actor that joins gets it at once; a snapshot of B bytes goes out at most every "          \
    "10 B / 1 GB/s)")                                                                              \
  X(transport, full_snapshot_every, int, 50, Closed(1, 1e6),                                       \
    "with sparse item tables, snapshots are deltas (the dense parameters and the rows changed "   \
    "since the previous version); a full snapshot also goes out every this many versions, and "   \
    "to actors that join or missed a version")                                                     \
  X(transport, send_hwm, int, 1, Closed(1, 1e6),                                                   \
    "trajectories an actor queues before it waits for the learner (back-pressure)")                \
  X(transport, receive_hwm, int, 2, Closed(1, 1e6),                                                \
    "trajectories the learner queues before its senders wait")                                     \
  X(transport, security, Security, Security::kAuto, Any(),                                         \
    "socket authentication and encryption: curve (ZeroMQ CURVE with the run's keys), none, or "    \
    "auto (curve unless the address is a loopback one: transport.host for learners, the host of "  \
    "transport.control for actors)")                                                               \
  X(transport, key_file, std::string, "", Any(),                                                   \
    "actors with CURVE: the run's curve-client.keys (rlrec train, launch/mpi-train and "           \
    "slurm/train.sbatch pass it; learners keep the run's keys in RUN/curve.keys)")

// S(section, Type, KEYS) for every section, in order.
#define RLREC_CONFIG_SECTIONS(S)                                                                   \
  S(run, Run, RLREC_RUN_KEYS)                                                                      \
  S(sim, Sim, RLREC_SIM_KEYS)                                                                      \
  S(model, Model, RLREC_MODEL_KEYS)                                                                \
  S(learner, Learner, RLREC_LEARNER_KEYS)                                                          \
  S(actor, Actor, RLREC_ACTOR_KEYS)                                                                \
  S(transport, Transport, RLREC_TRANSPORT_KEYS)
// clang-format on

// Every setting of a run, one field per key of the table (config.learner.batch_trajectories
// is the key learner.batch_trajectories). One file configures every program of the run; each
// program reads all keys and uses its own.
#define RLREC_CONFIG_FIELD(section, key, type, default_value, range, help) type key = default_value;
#define RLREC_CONFIG_SECTION(section, Type, KEYS) \
  struct Type {                                   \
    KEYS(RLREC_CONFIG_FIELD)                      \
  } section;
struct RunConfig {
  RLREC_CONFIG_SECTIONS(RLREC_CONFIG_SECTION)
};
#undef RLREC_CONFIG_SECTION
#undef RLREC_CONFIG_FIELD

// A rule that ties several keys together: `holds` says whether `config` keeps it; otherwise
// `key` (the one blamed) is out of range, as `rule` says.
struct CrossKeyRule {
  const char* key;
  const char* rule;
  bool (*holds)(const RunConfig& config);
};

inline constexpr CrossKeyRule kCrossKeyRules[] = {
    {"run.budget_seconds",
     "a run needs a budget: set run.budget_seconds, run.max_updates or run.max_env_steps",
     [](const RunConfig& c) {
       return c.run.budget_seconds > 0 || c.run.max_updates > 0 || c.run.max_env_steps > 0;
     }},
    {"sim.slate_size", "must be in [1, sim.candidates]",
     [](const RunConfig& c) { return c.sim.slate_size <= c.sim.candidates; }},
    {"sim.corpus_size", "must be 0 (fresh documents) or in [sim.candidates, 2^30]",
     [](const RunConfig& c) {
       return c.sim.corpus_size == 0 || c.sim.corpus_size >= c.sim.candidates;
     }},
    {"sim.item_lifetime", "needs a fixed corpus (sim.corpus_size > 0)",
     [](const RunConfig& c) { return c.sim.item_lifetime == 0 || c.sim.corpus_size > 0; }},
    {"learner.precision", "bf16 needs learner.device = cuda (a CPU learner computes in fp32)",
     [](const RunConfig& c) {
       return c.learner.precision == Precision::kFp32 || c.learner.device == Device::kCuda;
     }},
    {"model.heads", "must divide model.hidden",
     [](const RunConfig& c) { return c.model.hidden % c.model.heads == 0; }},
    {"sim.history_length", "must be at least 1 for model.user_encoder = transformer",
     [](const RunConfig& c) {
       return c.model.user_encoder != UserEncoder::kTransformer || c.sim.history_length > 0;
     }},
};

// Keys that older versions of rlrec wrote into config.ini and that no longer mean anything:
// a file that sets one still loads (run folders of older runs resume), with a warning.
inline constexpr const char* kRetiredKeys[] = {"sim.model"};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CONFIG_CONFIG_KEYS_H_
