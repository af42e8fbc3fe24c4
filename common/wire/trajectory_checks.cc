#include "common/wire/trajectory_checks.h"

#include <sstream>
#include <string>
#include <vector>

#include "common/base/check.h"
#include "common/base/error.h"
#include "common/data/state_tensors.h"

namespace rlrec::common {
namespace {

// Says what is wrong with element `index` of tensor `name` of actor `actor`'s trajectory.
template <typename T>
[[noreturn]] void Refuse(uint32_t actor, const std::string& name, int64_t index, T value,
                         const std::string& expected) {
  std::ostringstream s;
  s << "trajectory from actor " << actor << ": " << name << "[" << index << "] is " << value
    << ", expected " << expected;
  throw InvalidInput(s.str());
}

std::string InRange(float low, float high, const std::string& what = "") {
  std::ostringstream range;
  range << "a finite value in [" << low << ", " << high << "]" << what;
  return range.str();
}

void CheckFloats(uint32_t actor, const std::string& name, const TensorView& view, float low,
                 float high) {
  const auto* x = static_cast<const float*>(view.data);
  for (int64_t i = 0, n = view.numel(); i < n; ++i) {
    // The comparison is false for NaN, so NaN is refused too.
    if (!(x[i] >= low && x[i] <= high)) Refuse(actor, name, i, x[i], InRange(low, high));
  }
}

void CheckFloats(uint32_t actor, const std::string& name, const TensorView& view,
                 ValueRange range) {
  CheckFloats(actor, name, view, range.low, range.high);
}

// Feature rows [..., R, F]: row 0 of each state against `user`, rows 1..R-1 against
// `candidate` ([F] ranges each), or every feature within kMaxAbsFeature when they are empty.
void CheckFeatures(uint32_t actor, const std::string& name, const TensorView& view,
                   const TrajectoryContract& c) {
  if (c.user_row.empty() || c.candidate_row.empty()) {
    CheckFloats(actor, name, view, -kMaxAbsFeature, kMaxAbsFeature);
    return;
  }
  const auto* x = static_cast<const float*>(view.data);
  const int64_t F = view.shape.back(), R = view.shape[view.shape.size() - 2];
  RLREC_CHECK(c.user_row.size() == size_t(F) && c.candidate_row.size() == size_t(F))
      << "contract of " << c.user_row.size() << " and " << c.candidate_row.size()
      << " feature ranges for " << F << " features";
  const int64_t states = view.numel() / (R * F);
  for (int64_t s = 0; s < states; ++s) {
    for (int64_t row = 0; row < R; ++row) {
      const ValueRange* range = (row == 0 ? c.user_row : c.candidate_row).data();
      const float* values = x + (s * R + row) * F;
      for (int64_t f = 0; f < F; ++f) {
        if (values[f] >= range[f].low && values[f] <= range[f].high) continue;
        const std::string what = row == 0 ? " (the user row, feature " + std::to_string(f) + ")"
                                          : " (candidate row " + std::to_string(row) +
                                                ", feature " + std::to_string(f) + ")";
        Refuse(actor, name, (s * R + row) * F + f, values[f],
               InRange(range[f].low, range[f].high, what));
      }
    }
  }
}

template <typename Id>
void CheckIds(uint32_t actor, const std::string& name, const TensorView& view, int64_t limit,
              const char* table) {
  const auto* id = static_cast<const Id*>(view.data);
  for (int64_t i = 0, n = view.numel(); i < n; ++i) {
    if (id[i] < -1 || int64_t{id[i]} >= limit) {
      Refuse(actor, name, i, int64_t{id[i]},
             "-1 or an id in [0, " + std::to_string(limit) + ") of the " + table);
    }
  }
}

void CheckState(uint32_t actor, const char* prefix, const StateViews& state,
                const TrajectoryContract& contract) {
  const std::string p = prefix;
  CheckFeatures(actor, p + "features", state.features, contract);
  CheckIds<int64_t>(actor, p + "candidate_items", state.candidate_items, contract.item_id_limit,
                    "corpus");
  CheckIds<int64_t>(actor, p + "history_items", state.history_items, contract.item_id_limit,
                    "corpus");
  CheckIds<int32_t>(actor, p + "history_topics", state.history_topics, contract.topics, "topics");
  CheckFloats(actor, p + "history_responses", state.history_responses, contract.history_response);
}

void CheckShape(const Trajectory& t, const TrajectoryContract& c) {
  const auto& obs = t.steps.features.shape;
  const int64_t history = t.steps.history_items.shape.back();
  if (t.num_users > c.users) {
    throw InvalidInput("trajectory from actor " + std::to_string(t.actor_id) + " has " +
                       std::to_string(t.num_users) + " users, this run's actors step " +
                       std::to_string(c.users));
  }
  if (t.unroll_length != c.unroll || obs[2] != c.rows || obs[3] != c.features ||
      t.slates.shape[2] != c.slate_size || history != c.history) {
    throw InvalidInput("trajectory from actor " + std::to_string(t.actor_id) +
                       " has T=" + std::to_string(t.unroll_length) +
                       " R=" + std::to_string(obs[2]) + " F=" + std::to_string(obs[3]) +
                       " K=" + std::to_string(t.slates.shape[2]) + " H=" + std::to_string(history) +
                       ", this learner trains on T=" + std::to_string(c.unroll) +
                       " R=" + std::to_string(c.rows) + " F=" + std::to_string(c.features) +
                       " K=" + std::to_string(c.slate_size) + " H=" + std::to_string(c.history) +
                       " (same config for all?)");
  }
}

// Each slate holds K distinct candidates (ValidateTrajectory checked their range).
void CheckSlates(const Trajectory& t) {
  const auto* slate = static_cast<const int32_t*>(t.slates.data);
  const int64_t K = t.slates.shape[2], candidates = t.steps.features.shape[2] - 1;
  std::vector<int64_t> seen(static_cast<size_t>(candidates), -1);
  for (int64_t s = 0, n = t.slates.numel() / K; s < n; ++s) {
    for (int64_t k = 0; k < K; ++k) {
      int64_t& last = seen[static_cast<size_t>(slate[s * K + k])];
      if (last == s) {
        Refuse(t.actor_id, "slates", s * K + k, slate[s * K + k],
               "a candidate not already in slate " + std::to_string(s));
      }
      last = s;
    }
  }
}

}  // namespace

TrajectoryContract TrajectoryContractOf(const RunConfig& config) {
  TrajectoryContract c;
  c.unroll = config.actor.unroll;
  c.rows = config.sim.candidates + 1;
  c.features = ObservationFeatures(config.sim.topics);
  c.slate_size = config.sim.slate_size;
  c.history = config.sim.history_length;
  c.users = config.sim.users_per_actor;
  if (config.sim.corpus_size == 0) {
    c.item_id_limit = 0;
  } else if (config.sim.item_lifetime == 0) {
    c.item_id_limit = config.sim.corpus_size;
  }
  c.topics = config.sim.topics;
  const WorldRanges world = InterestEvolutionRanges(config);
  c.reward = WithSlack(world.reward);
  c.episode_return = WithSlack(world.episode_return);
  c.history_response = WithSlack(world.history_response);
  for (const ValueRange& r : world.user_row) c.user_row.push_back(WithSlack(r));
  for (const ValueRange& r : world.candidate_row) c.candidate_row.push_back(WithSlack(r));
  return c;
}

size_t MaxTrajectoryMessageBytes(const TrajectoryContract& c) {
  const size_t C = static_cast<size_t>(c.rows - 1), H = static_cast<size_t>(c.history);
  // One state: feature rows, candidate ids, history ids, topics and responses.
  const size_t state = static_cast<size_t>(c.rows * c.features) * 4 + C * 8 + H * (8 + 4 + 4);
  // Per user step: its state, slate, behaviour log-probability, reward, done flag and at
  // most one episode return.
  const size_t step = state + static_cast<size_t>(c.slate_size) * 4 + 4 + 4 + 1 + 4;
  const size_t users = static_cast<size_t>(c.users);
  const size_t payload = users * (static_cast<size_t>(c.unroll) * step + state);
  // Cap'n Proto pointers, shapes, padding and segment tables: far less than this.
  return payload + payload / 8 + (size_t{64} << 10);
}

void CheckTrajectory(const Trajectory& t, const TrajectoryContract& contract) {
  CheckShape(t, contract);
  const uint32_t actor = t.actor_id;
  CheckState(actor, "", t.steps, contract);
  CheckState(actor, "bootstrap.", t.bootstrap, contract);
  CheckSlates(t);
  CheckFloats(actor, "behaviour_log_probs", t.behaviour_log_probs, kMinLogProb, kMaxLogProb);
  CheckFloats(actor, "rewards", t.rewards, contract.reward);
  const auto* done = static_cast<const uint8_t*>(t.dones.data);
  for (int64_t i = 0, n = t.dones.numel(); i < n; ++i) {
    if (done[i] > 1) Refuse(actor, "dones", i, int{done[i]}, "0 or 1");
  }
  const int64_t steps = int64_t{t.unroll_length} * t.num_users;
  if (static_cast<int64_t>(t.episode_returns.size()) > steps) {
    throw InvalidInput("trajectory from actor " + std::to_string(actor) + " reports " +
                       std::to_string(t.episode_returns.size()) + " episode returns in " +
                       std::to_string(steps) + " user steps");
  }
  const ValueRange returns = contract.episode_return;
  for (size_t i = 0; i < t.episode_returns.size(); ++i) {
    const float r = t.episode_returns[i];
    if (!(r >= returns.low && r <= returns.high)) {
      Refuse(actor, "episode_returns", static_cast<int64_t>(i), r,
             InRange(returns.low, returns.high, " (the most a session can return)"));
    }
  }
}

}  // namespace rlrec::common
