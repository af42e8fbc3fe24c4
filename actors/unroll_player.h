#ifndef RLREC_ACTORS_UNROLL_PLAYER_H_
#define RLREC_ACTORS_UNROLL_PLAYER_H_

#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "actors/history_cache.h"
#include "actors/sim/user_simulator.h"
#include "actors/unroll_buffers.h"
#include "common/config/config.h"
#include "common/model/policy_model.h"

namespace rlrec::actors {

// Where an actor's time goes, in seconds, summed over the unrolls it played.
struct ActorPhaseTimes {
  double simulate_s = 0;  // the simulator observing and stepping its users
  double infer_s = 0;     // the policy's forward pass
  double sample_s = 0;    // drawing slates from the scores
  double encode_s = 0;    // turning unrolls into messages (Cap'n Proto)
  double send_s = 0;      // handing them to ZeroMQ, waiting on a full queue included
  // (The player measures the first three; whoever encodes and sends, the last two.)

  double total_s() const { return simulate_s + infer_s + sample_s + encode_s + send_s; }
};

// What one unroll produced beside its buffers.
struct UnrollOutcome {
  std::vector<float> episode_returns;  // returns of the sessions that ended in it
};

// Plays an actor's unrolls: at each of T steps the simulator writes the users' state into the
// unroll buffers, the policy scores the candidates, slates are sampled and the simulator
// steps. Keeps each user's running return across unrolls. The data path of RunActor and of
// actor_bench, so that the benchmark measures what actors run. Not thread-safe.
class UnrollPlayer {
 public:
  // `model` must outlive the player; it is only read (forward passes without gradients).
  // A transformer model is run incrementally (actors/history_cache.h) unless `incremental`
  // is false (then every step recomputes every history whole, for comparison).
  UnrollPlayer(const common::RunConfig& config, common::PolicyModelImpl& model,
               bool incremental = true);

  // Plays one unroll of buffers.rewards.size(0) steps of the users of `sim` (any world behind
  // the UserSimulator interface) into `buffers` (the bootstrap state included), drawing slates
  // from `generator`.
  UnrollOutcome Play(UserSimulator& sim, at::Generator& generator, UnrollBuffers& buffers);

  // The sessions in progress end unfinished (a new epoch of users): returns start at 0.
  void ResetSessions();
  // The model's weights changed: what was computed with the old ones is dropped.
  void WeightsChanged();
  // The incremental encoder's state; null unless the player runs one.
  const HistoryCache* history_cache() const { return history_cache_.get(); }

  // Simulation, inference and sampling time so far.
  const ActorPhaseTimes& times() const { return times_; }
  uint64_t episodes() const { return episodes_; }  // sessions ended so far

 private:
  common::PolicyModelImpl& model_;
  const int64_t slate_size_;
  const double temperature_, epsilon_;
  std::unique_ptr<HistoryCache> history_cache_;
  std::vector<double> running_return_;
  ActorPhaseTimes times_;
  uint64_t episodes_ = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_UNROLL_PLAYER_H_
