#ifndef RLREC_COMMON_WIRE_TRAJECTORY_CHECKS_H_
#define RLREC_COMMON_WIRE_TRAJECTORY_CHECKS_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "common/config/config_keys.h"
#include "common/data/trajectory.h"
#include "common/wire/world_ranges.h"

namespace rlrec::common {

// Bounds on what a trajectory's floats may hold, whatever the run: far beyond anything the
// simulator produces, near enough that no sum or exponential of them overflows a float. A
// contract made from a run's config (TrajectoryContractOf) holds its values to the far
// narrower ranges its world declares (common/wire/world_ranges.h).
inline constexpr float kMaxAbsFeature = 1e6f;  // observation features
inline constexpr float kMaxAbsReward = 1e6f;   // rewards and episode returns
inline constexpr float kMaxResponse = 1e6f;    // history responses lie in [0, kMaxResponse]
inline constexpr float kMinLogProb = -1e6f;    // behaviour log-probabilities lie in
inline constexpr float kMaxLogProb = 1e-3f;    // [kMinLogProb, kMaxLogProb] (0 plus rounding)

// What a learner accepts from actors: the shape of the run's trajectories and the ranges of
// their ids and values. Built from the run's config by TrajectoryContractOf; a contract built
// field by field (tests, tools) bounds values by the absolute bounds above only.
struct TrajectoryContract {
  int64_t unroll = 0;       // T
  int64_t rows = 0;         // R = 1 + C
  int64_t features = 0;     // F
  int64_t slate_size = 0;   // K
  int64_t history = 0;      // H
  int64_t users = 1 << 16;  // at most this many users (E) per trajectory
  // Item ids lie in [-1, item_id_limit): the corpus size for a fixed corpus, no limit with
  // item turnover (ids are reduced modulo the embedding table), 0 (only -1) for fresh
  // documents.
  int64_t item_id_limit = std::numeric_limits<int64_t>::max();
  int32_t topics = std::numeric_limits<int32_t>::max();  // topics lie in [-1, topics)
  // Values, each range within the absolute bounds above.
  ValueRange reward{-kMaxAbsReward, kMaxAbsReward};
  ValueRange episode_return{-kMaxAbsReward, kMaxAbsReward};
  ValueRange history_response{0, kMaxResponse};
  // [features] each: the range of feature f of the user row (row 0) and of a candidate row
  // (rows 1..C); empty: every feature within +-kMaxAbsFeature.
  std::vector<ValueRange> user_row, candidate_row;
};

// The contract of the run `config` describes: its shape, and the ranges of its world's values
// (InterestEvolutionRanges) with slack (WithSlack).
TrajectoryContract TrajectoryContractOf(const RunConfig& config);

// The most bytes a trajectory message of `contract` can take on the wire (every frame
// together), for ZMQ_MAXMSGSIZE; and the most frames.
size_t MaxTrajectoryMessageBytes(const TrajectoryContract& contract);
inline constexpr size_t kMaxTrajectoryFrames = 64;

// Checks a decoded trajectory (its tensors already consistent: ValidateTrajectory) against
// `contract` before any of it reaches a tensor operation: its shape; every item id and topic
// within its table; every float finite and within the contract's range for it (features by
// row kind and feature, rewards, responses, episode returns; log-probabilities within the
// bounds above); done flags 0 or 1; each slate K distinct candidates; at most T x E episode
// returns. Throws Error(kInvalidInput) naming the actor, the tensor, the first bad element
// (and for features its row and feature) and its value.
void CheckTrajectory(const Trajectory& trajectory, const TrajectoryContract& contract);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_TRAJECTORY_CHECKS_H_
