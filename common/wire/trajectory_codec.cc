#include "common/wire/trajectory_codec.h"

#include <kj/exception.h>

#include <string>

#include "common/wire/capnp_frames.h"
#include "common/wire/trajectory.capnp.h"

namespace rlrec::common {
namespace {

constexpr uint32_t kMaxUnroll = 1 << 16;
constexpr uint32_t kMaxUsers = 1 << 20;

void Expect(const TensorView& t, const char* name, DType dtype, const std::vector<int64_t>& shape) {
  if (t.dtype != dtype || t.shape != shape) {
    TensorView want;
    want.dtype = dtype;
    want.shape = shape;
    throw InvalidInput(std::string("trajectory tensor '") + name + "' is " + t.Describe() +
                       ", expected " + want.Describe());
  }
}

// On the wire a state's features are a field of the trajectory itself ("observations",
// "bootstrapObservation") and its ids a Context ("context", "bootstrapContext").
void WriteState(CapnpOutgoing& message, wire::Tensor::Builder features, wire::Context::Builder ids,
                const StateViews& state) {
  message.WriteTensor(features, state.features);
  message.WriteTensor(ids.initCandidateItems(), state.candidate_items);
  message.WriteTensor(ids.initHistoryItems(), state.history_items);
  message.WriteTensor(ids.initHistoryTopics(), state.history_topics);
  message.WriteTensor(ids.initHistoryResponses(), state.history_responses);
}

// The wire's name of a state tensor, for error messages: "observations", "context.history_items".
std::string WireName(const StateTensorSpec& spec, bool bootstrap) {
  if (spec.tail == StateTail::kRowsByFeatures) {
    return bootstrap ? "bootstrap_observation" : "observations";
  }
  return std::string(bootstrap ? "bootstrap_context." : "context.") + spec.name;
}

// `lead_rank`: 2 for a trajectory's steps ([T, E]), 1 for its bootstrap state ([E]).
StateViews ReadState(wire::Tensor::Reader features, wire::Context::Reader ids, size_t lead_rank) {
  const bool bootstrap = lead_rank == 1;
  auto name = [&](size_t i) { return WireName(kStateTensorSpecs[i], bootstrap); };
  StateViews s;
  s.features = ReadTensor(features, name(0).c_str(), lead_rank + 2);
  s.candidate_items = ReadTensor(ids.getCandidateItems(), name(1).c_str(), lead_rank + 1);
  s.history_items = ReadTensor(ids.getHistoryItems(), name(2).c_str(), lead_rank + 1);
  s.history_topics = ReadTensor(ids.getHistoryTopics(), name(3).c_str(), lead_rank + 1);
  s.history_responses = ReadTensor(ids.getHistoryResponses(), name(4).c_str(), lead_rank + 1);
  return s;
}

}  // namespace

void ValidateTrajectory(const Trajectory& t) {
  const int64_t T = t.unroll_length, E = t.num_users;
  if (T < 1 || T > kMaxUnroll) {
    throw InvalidInput("trajectory unroll length " + std::to_string(T) + " outside [1, " +
                       std::to_string(kMaxUnroll) + "]");
  }
  if (E < 1 || E > kMaxUsers) {
    throw InvalidInput("trajectory user count " + std::to_string(E) + " outside [1, " +
                       std::to_string(kMaxUsers) + "]");
  }
  const TensorView& observations = t.steps.features;
  if (observations.shape.size() != 4) {
    throw InvalidInput("trajectory tensor 'observations' has rank " +
                       std::to_string(observations.shape.size()) + ", expected 4");
  }
  const int64_t R = observations.shape[2], F = observations.shape[3];
  if (R < 2 || F < 1) {
    throw InvalidInput("trajectory observations " + observations.Describe() +
                       " need at least one user row, one candidate and one feature");
  }
  // H: the steps' history length, which every history tensor must share.
  const auto& history_shape = t.steps.history_items.shape;
  const int64_t H = history_shape.size() == 3 ? history_shape.back() : -1;
  if (H < 0) {
    throw InvalidInput("trajectory tensor 'context.history_items' is " +
                       t.steps.history_items.Describe() + ", expected rank 3");
  }
  for (bool bootstrap : {false, true}) {
    const std::vector<int64_t> lead =
        bootstrap ? std::vector<int64_t>{E} : std::vector<int64_t>{T, E};
    ForEachStateTensor(bootstrap ? t.bootstrap : t.steps,
                       [&](const StateTensorSpec& spec, const TensorView& view) {
                         Expect(view, WireName(spec, bootstrap).c_str(), spec.dtype,
                                StateShape(spec, lead, R - 1, F, H));
                       });
  }
  if (t.slates.shape.size() != 3 || t.slates.shape[2] < 1 || t.slates.shape[2] > R - 1) {
    throw InvalidInput("trajectory slates " + t.slates.Describe() + " must be [" +
                       std::to_string(T) + ", " + std::to_string(E) +
                       ", K] with 1 <= K <= " + std::to_string(R - 1));
  }
  Expect(t.slates, "slates", DType::kInt32, {T, E, t.slates.shape[2]});
  Expect(t.behaviour_log_probs, "behaviour_log_probs", DType::kFloat32, {T, E});
  Expect(t.rewards, "rewards", DType::kFloat32, {T, E});
  Expect(t.dones, "dones", DType::kUInt8, {T, E});
  const auto* slate = static_cast<const int32_t*>(t.slates.data);
  for (int64_t i = 0, n = t.slates.numel(); i < n; ++i) {
    if (slate[i] < 0 || slate[i] >= R - 1) {
      throw InvalidInput("trajectory slate entry " + std::to_string(i) + " is " +
                         std::to_string(slate[i]) + ", outside the " + std::to_string(R - 1) +
                         " candidates");
    }
  }
}

OutgoingMessage EncodeTrajectory(const Trajectory& t) {
  // One first segment holds the header and every tensor that is copied rather than
  // referenced: a segment above ZeroMQ's 8 KiB batch size arrives word-aligned and is read
  // in place, while several small segments would each arrive unaligned and be copied.
  size_t words = 128 + t.episode_returns.size() / 2;
  auto add = [&words](const TensorView& v) {
    words += 8 + v.shape.size() / 2 + CapnpOutgoing::CopiedWords(v.data, v.bytes);
  };
  for (const TensorView* v : {&t.slates, &t.behaviour_log_probs, &t.rewards, &t.dones}) add(*v);
  for (const StateViews* state : {&t.steps, &t.bootstrap}) {
    ForEachStateTensor(*state, [&](const StateTensorSpec&, const TensorView& v) { add(v); });
  }
  auto message = std::make_shared<CapnpOutgoing>(words);
  message->Keep(t.owner);
  auto root = message->builder().initRoot<wire::Trajectory>();
  root.setProtocolVersion(kProtocolVersion);
  root.setActorId(t.actor_id);
  root.setPolicyVersion(t.policy_version);
  root.setUnrollLength(t.unroll_length);
  root.setNumUsers(t.num_users);
  WriteState(*message, root.initObservations(), root.initContext(), t.steps);
  message->WriteTensor(root.initSlates(), t.slates);
  message->WriteTensor(root.initBehaviourLogProbs(), t.behaviour_log_probs);
  message->WriteTensor(root.initRewards(), t.rewards);
  message->WriteTensor(root.initDones(), t.dones);
  WriteState(*message, root.initBootstrapObservation(), root.initBootstrapContext(), t.bootstrap);
  auto returns = root.initEpisodeReturns(static_cast<unsigned>(t.episode_returns.size()));
  for (size_t i = 0; i < t.episode_returns.size(); ++i) returns.set(i, t.episode_returns[i]);
  return ToFrames(std::move(message));
}

Trajectory DecodeTrajectory(std::shared_ptr<const Multipart> frames) {
  auto incoming = std::make_shared<CapnpIncoming>(std::move(frames), 0, "trajectory");
  Trajectory t;
  try {
    auto root = incoming->reader().getRoot<wire::Trajectory>();
    if (root.getProtocolVersion() != kProtocolVersion) {
      throw InvalidInput("trajectory protocol version " +
                         std::to_string(root.getProtocolVersion()) + ", this learner speaks " +
                         std::to_string(kProtocolVersion));
    }
    t.actor_id = root.getActorId();
    t.policy_version = root.getPolicyVersion();
    t.unroll_length = root.getUnrollLength();
    t.num_users = root.getNumUsers();
    t.steps = ReadState(root.getObservations(), root.getContext(), 2);
    t.slates = ReadTensor(root.getSlates(), "slates", 3);
    t.behaviour_log_probs = ReadTensor(root.getBehaviourLogProbs(), "behaviour_log_probs", 2);
    t.rewards = ReadTensor(root.getRewards(), "rewards", 2);
    t.dones = ReadTensor(root.getDones(), "dones", 2);
    t.bootstrap = ReadState(root.getBootstrapObservation(), root.getBootstrapContext(), 1);
    auto returns = root.getEpisodeReturns();
    for (float r : returns) t.episode_returns.push_back(r);
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("trajectory: malformed Cap'n Proto message: ") +
                       e.getDescription().cStr());
  }
  ValidateTrajectory(t);
  t.owner = std::move(incoming);
  return t;
}

}  // namespace rlrec::common
