#include "actors/actor_loop.h"

#include <torch/torch.h>

#include <thread>
#include <vector>

#include "actors/interest_evolution.h"
#include "actors/simulator_config.h"
#include "actors/snapshot_cache.h"
#include "common/check.h"
#include "common/control.h"
#include "common/logging.h"
#include "common/policy_model.h"
#include "common/snapshot.h"
#include "common/trajectory_codec.h"

namespace rlrec::actors {
namespace {

using common::After;
using common::Clock;
using common::Deadline;

// Says hello to the lead learner until it answers, `stop` is set or `deadline` passes.
bool Connect(common::ControlClient& control, uint32_t actor_id, Deadline deadline,
             const std::atomic<bool>& stop, common::LearnerInfo* info) {
  while (!stop) {
    try {
      *info = control.Hello(actor_id);
      return true;
    } catch (const common::Error& e) {
      if (e.kind() != common::ErrorKind::kTimeout) throw;
      if (Clock::now() >= deadline) {
        throw common::Unavailable(std::string("no learner answered: ") + e.what());
      }
    }
  }
  return false;
}

// The tensors of one unroll. Fresh for every unroll: the previous one may still be queued
// in ZeroMQ, which reads these bytes in place.
struct UnrollBuffers {
  UnrollBuffers(int64_t T, int64_t E, int64_t R, int64_t F, int64_t K, int64_t H)
      : observations(torch::empty({T, E, R, F})),
        slates(torch::empty({T, E, K}, torch::kInt32)),
        log_probs(torch::empty({T, E})),
        rewards(torch::empty({T, E})),
        dones(torch::empty({T, E}, torch::kUInt8)),
        bootstrap(torch::empty({E, R, F})),
        context(Context({T, E}, R - 1, H)),
        bootstrap_context(Context({E}, R - 1, H)) {}

  struct Context {
    Context(std::vector<int64_t> lead, int64_t C, int64_t H) {
      auto with = [&](int64_t last) {
        auto shape = lead;
        shape.push_back(last);
        return shape;
      };
      candidate_items = torch::empty(with(C), torch::kInt64);
      history_items = torch::empty(with(H), torch::kInt64);
      history_topics = torch::empty(with(H), torch::kInt32);
      history_responses = torch::empty(with(H));
    }
    // Buffers for step `t`'s observation, or the bootstrap's when `t` < 0.
    ObservationBuffers At(int64_t t, const torch::Tensor& features) {
      auto pick = [&](const torch::Tensor& x) { return t < 0 ? x : x[t]; };
      return {features.data_ptr<float>(), pick(candidate_items).data_ptr<int64_t>(),
              pick(history_items).data_ptr<int64_t>(), pick(history_topics).data_ptr<int32_t>(),
              pick(history_responses).data_ptr<float>()};
    }
    common::ContextViews Views() const {
      return {common::ViewOfTensor(candidate_items), common::ViewOfTensor(history_items),
              common::ViewOfTensor(history_topics), common::ViewOfTensor(history_responses)};
    }
    torch::Tensor candidate_items, history_items, history_topics, history_responses;
  };

  torch::Tensor observations, slates, log_probs, rewards, dones, bootstrap;
  Context context, bootstrap_context;
};

}  // namespace

ActorStats RunActor(const common::RunConfig& config, uint32_t actor_id,
                    const common::ZmqContext& context, const std::atomic<bool>& stop) {
  const auto& transport = config.transport;
  if (transport.control.empty()) {
    throw common::InvalidInput(
        "transport.control is empty: give the lead learner's control endpoint, e.g. "
        "--transport.control=tcp://127.0.0.1:5555");
  }
  ActorStats stats;
  torch::NoGradGuard no_grad;
  const Deadline connect_deadline = After(transport.connect_timeout_s);
  common::ControlClient control(context, transport.control, transport.request_timeout_s,
                                transport.request_retries);
  common::LearnerInfo info;
  if (!Connect(control, actor_id, connect_deadline, stop, &info)) {
    stats.stop_reason = "signal";
    return stats;
  }
  RLREC_LOG(Info) << "joined run " << info.run_id << ": " << info.trajectory_endpoints.size()
                  << " trajectory endpoint(s), weights at " << info.weights_endpoint;

  common::ZmqSocket push(context, ZMQ_PUSH, "trajectory PUSH");
  push.SetInt(ZMQ_SNDHWM, transport.send_hwm);
  push.SetInt(ZMQ_SNDBUF, common::kTrajectorySocketBufferBytes);
  for (const auto& endpoint : info.trajectory_endpoints) push.Connect(endpoint);
  SnapshotCache cache(context, info.weights_endpoint);

  std::shared_ptr<const common::SnapshotBlob> snapshot;
  while (!(snapshot = cache.Latest())) {
    if (stop || cache.run_ended()) {
      stats.stop_reason = stop ? "signal" : "run ended";
      return stats;
    }
    if (Clock::now() >= connect_deadline) {
      throw common::Unavailable("no weight snapshot arrived from " + info.weights_endpoint);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // What the actor carries from one unroll to the next: its users and its random stream.
  // Epoch e starts users at a fresh id range and reseeds the stream; epoch 0 is a run's start.
  auto make_sim = [&](uint64_t epoch) {
    return std::make_unique<InterestEvolutionSimulator>(SimulatorOptions(
        config, TrainingUsers(actor_id) + ((epoch % 4096) << 28), config.sim.users_per_actor));
  };
  auto make_generator = [&](uint64_t epoch) {
    return at::make_generator<at::CPUGeneratorImpl>(config.run.seed * 1000003 + actor_id +
                                                    epoch * 0x9E3779B97F4A7C15ull);
  };
  // Synchronous runs start a new epoch at every checkpoint boundary (snapshot version v with
  // v % run.checkpoint_every == 0; there, version = update). A run resumed from such a
  // checkpoint, with fresh actors, then continues exactly as the uninterrupted run did.
  const uint64_t epoch_every =
      config.learner.synchronous ? std::max<uint64_t>(1, config.run.checkpoint_every) : 0;
  uint64_t epoch = epoch_every ? snapshot->version / epoch_every : 0;
  std::unique_ptr<InterestEvolutionSimulator> sim = make_sim(epoch);
  const int64_t T = config.actor.unroll, E = sim->num_users(), C = sim->num_candidates();
  const int64_t F = sim->feature_dim(), R = C + 1, K = config.sim.slate_size;
  const int64_t H = sim->history_length();

  RLREC_CHECK(F == common::ObservationFeatures(config)) << "simulator features " << F;
  common::PolicyModel model(common::ModelOptions(config));
  model->eval();
  common::LoadSnapshotIntoModel(*snapshot, *model);
  stats.first_version = stats.last_version = snapshot->version;
  stats.snapshots_applied = 1;
  auto generator = make_generator(epoch);
  std::vector<double> running_return(E, 0.0);

  // Data path: snapshot → batched inference → simulator step → unroll buffer → encode → PUSH.
  while (true) {
    if (stop) {
      stats.stop_reason = "signal";
      break;
    }
    if (cache.run_ended()) {
      stats.stop_reason = "run ended";
      break;
    }
    // Swap only here, between unrolls: every step of an unroll uses one snapshot. Any other
    // version is the learner's current one: a learner resumed from a checkpoint publishes an
    // older version than the one it died at, and its weights are the ones to act with.
    if (auto latest = cache.Latest(); latest->version != snapshot->version) {
      common::LoadSnapshotIntoModel(*latest, *model);
      snapshot = std::move(latest);
      stats.last_version = snapshot->version;
      ++stats.snapshots_applied;
    }
    if (epoch_every && snapshot->version % epoch_every == 0 &&
        snapshot->version / epoch_every != epoch) {
      epoch = snapshot->version / epoch_every;
      sim = make_sim(epoch);
      generator = make_generator(epoch);
      std::fill(running_return.begin(), running_return.end(), 0.0);  // sessions cut short
    }
    auto buffers = std::make_shared<UnrollBuffers>(T, E, R, F, K, H);
    common::Trajectory trajectory;
    for (int64_t t = 0; t < T; ++t) {
      auto observation = buffers->observations[t];
      sim->Observe(buffers->context.At(t, observation));
      const auto& c = buffers->context;
      auto output = model->Forward({observation, c.candidate_items[t], c.history_items[t],
                                    c.history_topics[t], c.history_responses[t]});
      auto sample = common::SampleSlates(output.scores, K, config.model.temperature, generator,
                                         config.model.epsilon);
      auto slates = buffers->slates[t];
      slates.copy_(sample.slates);
      buffers->log_probs[t].copy_(sample.log_probs);
      float* rewards = buffers->rewards[t].data_ptr<float>();
      uint8_t* dones = buffers->dones[t].data_ptr<uint8_t>();
      sim->Step(slates.data_ptr<int32_t>(), static_cast<int>(K), rewards, dones);
      for (int64_t u = 0; u < E; ++u) {
        running_return[u] += rewards[u];
        if (dones[u]) {
          trajectory.episode_returns.push_back(static_cast<float>(running_return[u]));
          running_return[u] = 0;
          ++stats.episodes;
        }
      }
    }
    sim->Observe(buffers->bootstrap_context.At(-1, buffers->bootstrap));

    trajectory.actor_id = actor_id;
    trajectory.policy_version = snapshot->version;
    trajectory.unroll_length = static_cast<uint32_t>(T);
    trajectory.num_users = static_cast<uint32_t>(E);
    trajectory.observations = common::ViewOfTensor(buffers->observations);
    trajectory.slates = common::ViewOfTensor(buffers->slates);
    trajectory.behaviour_log_probs = common::ViewOfTensor(buffers->log_probs);
    trajectory.rewards = common::ViewOfTensor(buffers->rewards);
    trajectory.dones = common::ViewOfTensor(buffers->dones);
    trajectory.bootstrap_observation = common::ViewOfTensor(buffers->bootstrap);
    trajectory.context = buffers->context.Views();
    trajectory.bootstrap_context = buffers->bootstrap_context.Views();
    trajectory.owner = buffers;
    auto message = common::EncodeTrajectory(trajectory);

    // A full queue means the learner is slower than its actors: wait (back-pressure), but
    // keep checking for the end of the run so shutdown never hangs here.
    const auto blocked_since = Clock::now();
    bool sent = false;
    while (!(sent = push.Send(message, After(0.1)))) {
      if (stop || cache.run_ended()) break;
      if (common::SecondsSince(blocked_since) > transport.connect_timeout_s) {
        throw common::Unavailable("the learner took no trajectory for " +
                                  std::to_string(transport.connect_timeout_s) + " s");
      }
    }
    stats.send_blocked_s += common::SecondsSince(blocked_since);
    if (!sent) continue;
    ++stats.unrolls_sent;
    stats.env_steps += static_cast<uint64_t>(T * E);
    // Lockstep: the next unroll runs on the snapshot this one trains.
    if (config.learner.synchronous) {
      const Deadline deadline = After(transport.connect_timeout_s);
      while (cache.Latest()->version <= snapshot->version && !stop && !cache.run_ended()) {
        if (Clock::now() >= deadline) {
          throw common::Unavailable("synchronous: no snapshot after version " +
                                    std::to_string(snapshot->version) + " within " +
                                    std::to_string(transport.connect_timeout_s) + " s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }
  return stats;
}

}  // namespace rlrec::actors
