#include "common/trajectory_codec.h"

#include <kj/exception.h>

#include <string>

#include "common/capnp_frames.h"
#include "common/trajectory.capnp.h"

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

void WriteContext(CapnpOutgoing& message, wire::Context::Builder out, const ContextViews& c) {
  message.WriteTensor(out.initCandidateItems(), c.candidate_items);
  message.WriteTensor(out.initHistoryItems(), c.history_items);
  message.WriteTensor(out.initHistoryTopics(), c.history_topics);
  message.WriteTensor(out.initHistoryResponses(), c.history_responses);
}

ContextViews ReadContext(wire::Context::Reader in, const std::string& prefix, size_t rank) {
  ContextViews c;
  c.candidate_items =
      ReadTensor(in.getCandidateItems(), (prefix + "candidate_items").c_str(), rank);
  c.history_items = ReadTensor(in.getHistoryItems(), (prefix + "history_items").c_str(), rank);
  c.history_topics = ReadTensor(in.getHistoryTopics(), (prefix + "history_topics").c_str(), rank);
  c.history_responses =
      ReadTensor(in.getHistoryResponses(), (prefix + "history_responses").c_str(), rank);
  return c;
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
  if (t.observations.shape.size() != 4) {
    throw InvalidInput("trajectory tensor 'observations' has rank " +
                       std::to_string(t.observations.shape.size()) + ", expected 4");
  }
  const int64_t R = t.observations.shape[2], F = t.observations.shape[3];
  if (R < 2 || F < 1) {
    throw InvalidInput("trajectory observations " + t.observations.Describe() +
                       " need at least one user row, one candidate and one feature");
  }
  Expect(t.observations, "observations", DType::kFloat32, {T, E, R, F});
  if (t.slates.shape.size() != 3 || t.slates.shape[2] < 1 || t.slates.shape[2] > R - 1) {
    throw InvalidInput("trajectory slates " + t.slates.Describe() + " must be [" +
                       std::to_string(T) + ", " + std::to_string(E) +
                       ", K] with 1 <= K <= " + std::to_string(R - 1));
  }
  Expect(t.slates, "slates", DType::kInt32, {T, E, t.slates.shape[2]});
  Expect(t.behaviour_log_probs, "behaviour_log_probs", DType::kFloat32, {T, E});
  Expect(t.rewards, "rewards", DType::kFloat32, {T, E});
  Expect(t.dones, "dones", DType::kUInt8, {T, E});
  Expect(t.bootstrap_observation, "bootstrap_observation", DType::kFloat32, {E, R, F});
  for (bool bootstrap : {false, true}) {
    const ContextViews& c = bootstrap ? t.bootstrap_context : t.context;
    std::vector<int64_t> lead = bootstrap ? std::vector<int64_t>{E} : std::vector<int64_t>{T, E};
    const char* prefix = bootstrap ? "bootstrap_context." : "context.";
    auto with = [&](int64_t last) {
      auto shape = lead;
      shape.push_back(last);
      return shape;
    };
    Expect(c.candidate_items, (std::string(prefix) + "candidate_items").c_str(), DType::kInt64,
           with(R - 1));
    const auto& history_shape = c.history_items.shape;
    const int64_t H = history_shape.size() == lead.size() + 1 ? history_shape.back() : -1;
    if (H < 0) {
      throw InvalidInput(std::string("trajectory tensor '") + prefix + "history_items' is " +
                         c.history_items.Describe() + ", expected rank " +
                         std::to_string(lead.size() + 1));
    }
    Expect(c.history_items, (std::string(prefix) + "history_items").c_str(), DType::kInt64,
           with(H));
    Expect(c.history_topics, (std::string(prefix) + "history_topics").c_str(), DType::kInt32,
           with(H));
    Expect(c.history_responses, (std::string(prefix) + "history_responses").c_str(),
           DType::kFloat32, with(H));
    if (bootstrap &&
        H != (t.context.history_items.shape.empty() ? -1 : t.context.history_items.shape.back())) {
      throw InvalidInput("trajectory bootstrap history length " + std::to_string(H) +
                         " differs from the steps' history length");
    }
  }
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
  for (const TensorView* v :
       {&t.observations, &t.slates, &t.behaviour_log_probs, &t.rewards, &t.dones,
        &t.bootstrap_observation, &t.context.candidate_items, &t.context.history_items,
        &t.context.history_topics, &t.context.history_responses,
        &t.bootstrap_context.candidate_items, &t.bootstrap_context.history_items,
        &t.bootstrap_context.history_topics, &t.bootstrap_context.history_responses}) {
    words += 8 + v->shape.size() / 2 + CapnpOutgoing::CopiedWords(v->data, v->bytes);
  }
  auto message = std::make_shared<CapnpOutgoing>(words);
  message->Keep(t.owner);
  auto root = message->builder().initRoot<wire::Trajectory>();
  root.setProtocolVersion(kProtocolVersion);
  root.setActorId(t.actor_id);
  root.setPolicyVersion(t.policy_version);
  root.setUnrollLength(t.unroll_length);
  root.setNumUsers(t.num_users);
  message->WriteTensor(root.initObservations(), t.observations);
  message->WriteTensor(root.initSlates(), t.slates);
  message->WriteTensor(root.initBehaviourLogProbs(), t.behaviour_log_probs);
  message->WriteTensor(root.initRewards(), t.rewards);
  message->WriteTensor(root.initDones(), t.dones);
  message->WriteTensor(root.initBootstrapObservation(), t.bootstrap_observation);
  auto returns = root.initEpisodeReturns(static_cast<unsigned>(t.episode_returns.size()));
  for (size_t i = 0; i < t.episode_returns.size(); ++i) returns.set(i, t.episode_returns[i]);
  WriteContext(*message, root.initContext(), t.context);
  WriteContext(*message, root.initBootstrapContext(), t.bootstrap_context);
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
    t.observations = ReadTensor(root.getObservations(), "observations", 4);
    t.slates = ReadTensor(root.getSlates(), "slates", 3);
    t.behaviour_log_probs = ReadTensor(root.getBehaviourLogProbs(), "behaviour_log_probs", 2);
    t.rewards = ReadTensor(root.getRewards(), "rewards", 2);
    t.dones = ReadTensor(root.getDones(), "dones", 2);
    t.bootstrap_observation =
        ReadTensor(root.getBootstrapObservation(), "bootstrap_observation", 3);
    auto returns = root.getEpisodeReturns();
    for (float r : returns) t.episode_returns.push_back(r);
    t.context = ReadContext(root.getContext(), "context.", 3);
    t.bootstrap_context = ReadContext(root.getBootstrapContext(), "bootstrap_context.", 2);
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("trajectory: malformed Cap'n Proto message: ") +
                       e.getDescription().cStr());
  }
  ValidateTrajectory(t);
  t.owner = std::move(incoming);
  return t;
}

}  // namespace rlrec::common
