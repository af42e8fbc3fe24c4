#include "actors/actor_loop.h"

#include <torch/torch.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "actors/actor_epochs.h"
#include "actors/snapshot/actor_weights.h"
#include "actors/trajectory_sender.h"
#include "actors/unroll_buffers.h"
#include "actors/unroll_player.h"
#include "common/base/check.h"
#include "common/base/logging.h"
#include "common/model/memory_plan.h"
#include "common/model/policy_model.h"
#include "common/model/snapshot.h"
#include "common/wire/control.h"

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

// What this actor has done since it joined at `joined`, for the lead (common::ActorReport).
common::ActorReport MakeReport(uint32_t actor_id, common::Clock::time_point joined,
                               const ActorStats& stats, const UnrollPlayer& player,
                               const TrajectorySender& sender, uint64_t version, bool leaving) {
  static const std::string host = common::HostName();
  common::ActorReport r;
  r.actor_id = actor_id;
  r.host = host;
  r.pid = static_cast<uint32_t>(::getpid());
  r.uptime_s = common::SecondsSince(joined);
  r.env_steps = stats.env_steps;
  r.unrolls = sender.sent();
  r.snapshot_version = version;
  r.simulate_s = player.times().simulate_s;
  r.infer_s = player.times().infer_s + player.times().sample_s;
  r.encode_s = sender.encode_s();
  r.send_blocked_s = sender.blocked_s();
  r.leaving = leaving;
  return r;
}

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
  const common::SocketSecurity security = common::ClientSecurity(transport);
  common::ControlClient control(context, transport.control, transport.request_timeout_s,
                                transport.request_retries, security);
  common::LearnerInfo info;
  if (!Connect(control, actor_id, connect_deadline, stop, &info)) {
    stats.stop_reason = "signal";
    return stats;
  }
  RLREC_LOG(Info) << "on host " << common::HostName() << ", joined run " << info.run_id << ": "
                  << info.trajectory_endpoints.size() << " trajectory endpoint(s), weights at "
                  << info.weights_endpoint;
  TrajectorySender sender(context, info.trajectory_endpoints, transport.send_hwm, security);
  // Its weights come from snapshots: its own tables never hold any (no memory behind them).
  common::PolicyModelOptions model_options = common::ModelOptions(config);
  model_options.uninitialised_tables = true;
  common::PolicyModel model(model_options);
  model->eval();
  // Only snapshots of this run and of this model are taken.
  ActorWeights weights(config, context, info.run_id, info.weights_endpoint, *model, security);
  // The wait for the first snapshot starts now: building a large model takes a while, and
  // a large snapshot takes a while to arrive (fresh pages fill at 0.1 to 0.5 GB/s on a virtual
  // machine: waits allow a snapshot that long on top of the timeout, here and for re-syncs).
  const double weights_wait_s =
      transport.connect_timeout_s +
      4.0 * static_cast<double>(common::PlanMemory(config).parameters()) / 1e8;
  if (!weights.Acquire(std::nullopt, stop, After(weights_wait_s))) {
    stats.stop_reason = stop ? "signal" : "run ended";
    return stats;
  }
  weights.Release();

  ActorEpochs epochs(config, actor_id, weights.version());
  const int64_t T = config.actor.unroll, E = epochs.simulator().num_users();
  const int64_t C = epochs.simulator().num_candidates(), F = epochs.simulator().feature_dim();
  const int64_t K = config.sim.slate_size, H = epochs.simulator().history_length();
  RLREC_CHECK(F == common::ObservationFeatures(config.sim.topics)) << "simulator features " << F;
  stats.first_version = weights.version();
  UnrollPlayer player(config, *model);
  // Reports to the lead every run.report_every_s, between unrolls, never waiting for answers.
  common::ActorReporter reports(context, transport.control, transport.request_timeout_s, security);
  const auto joined = Clock::now();
  Deadline next_report = After(config.run.report_every_s);
  uint64_t swaps_seen = weights.swaps();
  common::LogLimiter lag_log(/*burst=*/1, /*period_s=*/10);
  const auto ending = [&] { return stop || weights.run_ended(); };
  // Lockstep: each unroll after the first runs on a snapshot newer than the last one's.
  std::optional<uint64_t> newer_than;

  // Data path: snapshot → batched inference → simulator step → unroll buffer → encode → PUSH.
  while (!ending()) {
    // Take weights only here, between unrolls, and hold them still for the whole unroll.
    if (!weights.Acquire(newer_than, stop, After(weights_wait_s))) break;
    const uint64_t version = weights.version();
    if (epochs.Advance(version)) player.ResetSessions();  // sessions cut short
    if (weights.swaps() != swaps_seen) player.WeightsChanged();
    swaps_seen = weights.swaps();
    auto buffers = std::make_shared<UnrollBuffers>(T, E, C, F, K, H);
    UnrollOutcome outcome = player.Play(epochs.simulator(), epochs.generator(), *buffers);
    weights.Release();  // the last forward pass of this unroll is done

    // A full queue means the learner is slower than its actors: wait (back-pressure), but
    // keep checking for the end of the run so shutdown never hangs here.
    const common::Trajectory trajectory = UnrollBuffers::ToTrajectory(
        std::move(buffers), actor_id, version, std::move(outcome.episode_returns));
    if (!sender.Send(trajectory, ending, transport.connect_timeout_s)) continue;
    stats.env_steps += static_cast<uint64_t>(T * E);
    // Lockstep: the next unroll runs on the snapshot this one trains.
    if (config.learner.synchronous) newer_than = version;
    if (Clock::now() >= next_report) {
      reports.Post(MakeReport(actor_id, joined, stats, player, sender, version, false));
      next_report = After(config.run.report_every_s);
      if (const std::string behind =
              LagWarning(reports.learner_version(), weights, config.actor.lag_warning);
          !behind.empty() && lag_log.Allow()) {
        RLREC_LOG(Warning) << behind;
      }
    }
  }
  // Stopped by a signal while the run goes on: say so, so that the lead does not count this
  // actor lost. (When the run ended there is no one left to tell.)
  if (stop && !weights.run_ended()) {
    reports.PostAndWait(
        MakeReport(actor_id, joined, stats, player, sender, weights.version(), true), After(1.0));
  }
  stats.stop_reason = stop ? "signal" : "run ended";
  stats.episodes = player.episodes();
  stats.times = player.times();
  stats.times.encode_s = sender.encode_s();
  stats.times.send_s = sender.blocked_s();
  stats.snapshots_applied = weights.swaps();
  stats.last_version = weights.version();
  stats.shared_snapshot = weights.shared();
  stats.receiver = weights.receiver();
  stats.deltas_applied = weights.deltas_applied();
  stats.refused_deltas = weights.refused_deltas();
  stats.refused_segments = weights.refused_segments();
  stats.refused_states = weights.refused_states();
  stats.takeovers = weights.takeovers();
  stats.unrolls_sent = sender.sent();
  stats.send_blocked_s = sender.blocked_s();
  return stats;
}

}  // namespace rlrec::actors
