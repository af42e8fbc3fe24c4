#include "learner/learner_loop.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <vector>

#include "common/atomic_file.h"
#include "common/control.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/policy_model.h"
#include "common/snapshot.h"
#include "learner/batch.h"
#include "learner/checkpoint.h"
#include "learner/collective.h"
#include "learner/gradient_buckets.h"
#include "learner/rank_report.h"
#include "learner/trajectory_receiver.h"
#include "learner/update_step.h"
#include "learner/weight_publisher.h"

namespace rlrec::learner {
namespace {

using common::After;
using common::Clock;

// `bound` as others can reach it: a wildcard address becomes this host's name.
std::string Advertised(const std::string& bound) {
  const std::string wildcard = "tcp://0.0.0.0:";
  if (bound.rfind(wildcard, 0) != 0) return bound;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return bound;
  return "tcp://" + std::string(host) + ":" + bound.substr(wildcard.size());
}

// The port of a "tcp://host:port" endpoint.
std::string PortOf(const std::string& endpoint) { return endpoint.substr(endpoint.rfind(':') + 1); }

// "name port" lines of a ports file; empty when the file is missing.
std::map<std::string, int> ReadPorts(const std::string& path) {
  std::map<std::string, int> ports;
  std::ifstream in(path);
  std::string name;
  int port = 0;
  while (in >> name >> port) ports[name] = port;
  return ports;
}

std::string Endpoint(const std::string& host, int port) {
  return "tcp://" + host + ":" + (port == 0 ? std::string("*") : std::to_string(port));
}

// What happened since the last report.
struct ReportWindow {
  Clock::time_point start = Clock::now();
  uint64_t env_steps_at_start = 0;
  uint64_t updates_at_start = 0;
  int loss_count = 0;
  double policy_loss = 0, value_loss = 0, entropy = 0, total_loss = 0;
  double return_sum = 0;
  uint64_t episodes = 0;
  uint64_t lag_min = std::numeric_limits<uint64_t>::max(), lag_max = 0;
  double lag_sum = 0;
  uint64_t lag_count = 0;
  double rho_sum = 0;
};

std::string Human(double x) {
  char buf[32];
  if (x >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", x / 1e6);
  } else if (x >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk", x / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", x);
  }
  return buf;
}

}  // namespace

LearnerSummary RunLearner(const common::RunConfig& config, const std::string& effective_ini,
                          const std::string& run_dir, const common::ZmqContext& context,
                          const std::atomic<bool>& stop, const MpiWorld& world, bool resume) {
  const bool synchronous = config.learner.synchronous;
  const bool lead = world.rank() == 0;
  const int ranks = world.size();
  const double collective_timeout_s = config.learner.collective_timeout_s;
  if (synchronous && config.actor.count <= 0) {
    throw common::InvalidInput(
        "learner.synchronous needs actor.count > 0: each update waits for one unroll from each "
        "of that many actors (rlrec train passes the number it starts)");
  }
  if (synchronous && ranks > 1) {
    throw common::InvalidInput("learner.synchronous runs one learner rank, not " +
                               std::to_string(ranks) +
                               ": actors spread their unrolls over ranks unpredictably");
  }
  // Synchronous rows come by update count, so two runs write the same rows.
  const uint64_t report_every_updates = config.run.report_every_updates > 0
                                            ? config.run.report_every_updates
                                        : synchronous ? 10
                                                      : 0;
  torch::Device device(torch::kCPU);
  if (config.learner.device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw common::InvalidInput(
          "learner.device = cuda, but this LibTorch sees no CUDA device (a CPU build of "
          "LibTorch, or no GPU on this machine)");
    }
    // One GPU per rank: the rank's place among the ranks on its host.
    device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(
                                             world.local_rank() % torch::cuda::device_count()));
  }
  std::unique_ptr<common::MetricsWriter> metrics;
  if (lead) {
    std::filesystem::create_directories(run_dir + "/checkpoints");
    common::WriteFileAtomically(run_dir + "/config.ini", {effective_ini});
    metrics = std::make_unique<common::MetricsWriter>(run_dir + "/metrics.jsonl");
  }
  const std::string run_id = std::filesystem::path(run_dir).filename().string();

  torch::manual_seed(config.run.seed);
  const int feature_dim = common::ObservationFeatures(config);
  common::PolicyModel model(common::ModelOptions(config));
  model->to(device);
  std::unique_ptr<Collective> collective;
  if (ranks > 1) {
    collective = MakeCollective(world, device, collective_timeout_s);
    // Every rank starts from the lead's parameters.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) collective->Broadcast(p, 0);
  }
  GradientBuckets gradients(model->parameters(),
                            static_cast<size_t>(config.learner.bucket_mib * 1024 * 1024));
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(config.learner.learning_rate));

  TrainingCounters counters;
  const std::string checkpoint_dir = run_dir + "/checkpoints";
  if (resume) {
    // Every rank reads the same files (a shared filesystem across hosts).
    Resumed resumed = LoadNewestCheckpoint(checkpoint_dir, *model, optimizer);
    for (const auto& why : resumed.refused) {
      RLREC_LOG(Warning) << "refused " << why << "; falling back to an older checkpoint";
    }
    counters = resumed.contents.counters;
    RLREC_LOG(Info) << "resumed from " << resumed.path << ": update " << counters.updates << ", "
                    << counters.env_steps << " env steps, snapshot " << counters.snapshot_version;
  }
  // A resumed run binds the ports it had, so that running actors reconnect on their own.
  const std::map<std::string, int> saved_ports =
      resume ? ReadPorts(run_dir + "/" + kPortsFile) : std::map<std::string, int>{};
  auto port = [&](int configured, const std::string& name) {
    if (configured != 0) return configured;
    auto it = saved_ports.find(name);
    return it == saved_ports.end() ? 0 : it->second;
  };

  ExpectedShape expected{config.actor.unroll, config.sim.candidates + 1, feature_dim,
                         config.sim.slate_size, config.sim.history_length};
  // Ranks sharing a host and a fixed port take consecutive ports.
  const int trajectory_port = config.transport.trajectory_port == 0
                                  ? port(0, "trajectory." + std::to_string(world.rank()))
                                  : config.transport.trajectory_port + world.rank();
  TrajectoryReceiver receiver(context, Endpoint(config.transport.host, trajectory_port),
                              config.transport.receive_hwm, expected);
  const std::vector<std::string> trajectory_endpoints =
      world.AllGather(Advertised(receiver.endpoint()), collective_timeout_s);

  // The lead alone talks to actors about the run and publishes weights.
  std::unique_ptr<WeightPublisher> publisher;
  std::unique_ptr<common::ControlServer> control;
  common::LearnerInfo info;
  if (lead) {
    publisher = std::make_unique<WeightPublisher>(
        context, Endpoint(config.transport.host, port(config.transport.weights_port, "weights")),
        size_t(config.transport.weights_chunk_kib) * 1024, config.transport.weights_republish_s);
    control = std::make_unique<common::ControlServer>(
        context, Endpoint(config.transport.host, port(config.transport.control_port, "control")));
    publisher->Publish(common::SnapshotFromModel(*model, run_id, counters.snapshot_version));
    info.run_id = run_id;
    info.trajectory_endpoints = trajectory_endpoints;
    info.weights_endpoint = Advertised(publisher->endpoint());
    std::string ports = "control " + PortOf(control->endpoint()) + "\nweights " +
                        PortOf(publisher->endpoint()) + "\n";
    for (int r = 0; r < ranks; ++r) {
      ports += "trajectory." + std::to_string(r) + " " + PortOf(trajectory_endpoints[r]) + "\n";
    }
    common::WriteFileAtomically(run_dir + "/" + kPortsFile, {ports});
    common::WriteFileAtomically(run_dir + "/" + kControlEndpointFile,
                                {Advertised(control->endpoint()), "\n"});
    RLREC_LOG(Info) << "run " << run_id << ": control " << Advertised(control->endpoint())
                    << ", weights " << info.weights_endpoint << ", " << ranks
                    << " learner rank(s), device " << device
                    << (collective ? ", gradients over " + collective->backend() : "");
  }
  RLREC_LOG(Info) << "rank " << world.rank() << " of " << ranks << ": trajectories at "
                  << trajectory_endpoints[world.rank()];
  // While waiting for other ranks, the lead keeps answering actors.
  const std::function<void()> serve = [&] {
    if (!lead) return;
    info.latest_version = counters.snapshot_version;
    info.updates = counters.updates;
    info.env_steps = counters.env_steps;
    control->Serve(info, Clock::now());
    publisher->RepublishIfDue();
  };

  const Objective objective = Objective::FromConfig(config);
  const bool use_vtrace = config.learner.objective == "vtrace";
  const auto start = Clock::now();
  ReportWindow window;
  RankReport mine;    // this rank, since the last update
  RankReport agreed;  // all ranks, at the last update: totals of received and decode errors
  uint64_t dropped_stale = 0;
  std::vector<common::Trajectory> pending;
  // Synchronous mode: this update's unroll from each actor, by actor id.
  std::map<uint32_t, common::Trajectory> lockstep;
  const size_t batch_size = synchronous ? static_cast<size_t>(config.actor.count)
                                        : static_cast<size_t>(config.learner.batch_trajectories);
  LearnerSummary summary;
  auto last_checkpoint = Clock::now();
  uint64_t checkpointed_at = resume ? counters.updates : ~uint64_t{0};
  // Writes the checkpoint of the current update (once) and keeps the newest few; the lead's.
  auto checkpoint = [&] {
    const std::string path = CheckpointPath(checkpoint_dir, counters.updates);
    if (checkpointed_at != counters.updates || !std::filesystem::exists(path)) {
      SaveCheckpoint(path, *model, optimizer, counters, effective_ini);
      checkpointed_at = counters.updates;
      PruneCheckpoints(checkpoint_dir, config.run.keep_checkpoints);
    }
    last_checkpoint = Clock::now();
    return path;
  };
  auto received = [&] { return ranks == 1 ? double(receiver.received()) : agreed.trajectories; };
  auto decode_errors = [&] {
    return ranks == 1 ? double(receiver.decode_errors()) : agreed.decode_errors;
  };

  auto report = [&](bool final_row) {
    if (!lead) return;
    const double window_s = std::max(1e-9, common::SecondsSince(window.start));
    const double steps_per_s = (counters.env_steps - window.env_steps_at_start) / window_s;
    const double updates_per_s = (counters.updates - window.updates_at_start) / window_s;
    const double n = std::max(1, window.loss_count);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double mean_return = window.episodes ? window.return_sum / window.episodes : nan;
    const bool any_lag = window.lag_count > 0;
    common::JsonObject row;
    row.Add("time_s", common::SecondsSince(start))
        .Add("update", counters.updates)
        .Add("env_steps", counters.env_steps)
        .Add("env_steps_per_s", steps_per_s)
        .Add("updates_per_s", updates_per_s)
        .Add("policy_loss", window.loss_count ? window.policy_loss / n : nan)
        .Add("value_loss", window.loss_count ? window.value_loss / n : nan)
        .Add("entropy", window.loss_count ? window.entropy / n : nan)
        .Add("total_loss", window.loss_count ? window.total_loss / n : nan)
        .Add("mean_return", mean_return)
        .Add("episodes", window.episodes)
        .Add("policy_lag_min", any_lag ? double(window.lag_min) : nan)
        .Add("policy_lag_mean", any_lag ? window.lag_sum / window.lag_count : nan)
        .Add("policy_lag_max", any_lag ? double(window.lag_max) : nan)
        .Add("trajectories_received", static_cast<uint64_t>(received()))
        .Add("decode_errors", static_cast<uint64_t>(decode_errors()))
        .Add("dropped_stale", dropped_stale)
        .Add("mean_rho", use_vtrace && window.loss_count ? window.rho_sum / n : nan)
        .Add("snapshot_version", counters.snapshot_version)
        .Add("actors_seen", static_cast<uint64_t>(control->actors_seen().size()))
        .Add("learner_ranks", ranks)
        .Add("final", final_row ? 1 : 0);
    metrics->Write(row);
    char line[512];
    std::snprintf(line, sizeof(line),
                  "[learner] %6.1fs  updates %llu  env_steps %s (%s/s)  mean_return %s  "
                  "lag %s  traj %llu  decode_errors %llu  actors %zu\n",
                  common::SecondsSince(start), static_cast<unsigned long long>(counters.updates),
                  Human(counters.env_steps).c_str(), Human(steps_per_s).c_str(),
                  window.episodes ? std::to_string(mean_return).substr(0, 6).c_str() : "-",
                  any_lag ? (std::to_string(window.lag_min) + "/" +
                             std::to_string(window.lag_sum / window.lag_count).substr(0, 4) + "/" +
                             std::to_string(window.lag_max))
                                .c_str()
                          : "-",
                  static_cast<unsigned long long>(received()),
                  static_cast<unsigned long long>(decode_errors()), control->actors_seen().size());
    std::fputs(line, stdout);
    std::fflush(stdout);
    window = ReportWindow();
    window.env_steps_at_start = counters.env_steps;
    window.updates_at_start = counters.updates;
  };

  // Data path: PULL → decode in place → batch → device → loss → backward → all-reduce → step
  // → PUB.
  while (true) {
    if (stop) {
      mine.stop = StopReason::kSignal;
    } else if (config.run.budget_seconds > 0 &&
               common::SecondsSince(start) >= config.run.budget_seconds) {
      mine.stop = StopReason::kTimeBudget;
    } else if (config.run.max_updates > 0 && counters.updates >= config.run.max_updates) {
      mine.stop = StopReason::kMaxUpdates;
    } else if (config.run.max_env_steps > 0 && counters.env_steps >= config.run.max_env_steps) {
      mine.stop = StopReason::kMaxEnvSteps;
    }
    serve();
    if (lead && report_every_updates == 0 &&
        common::SecondsSince(window.start) >= config.run.report_every_s) {
      report(false);
    }

    if (mine.stop == StopReason::kNone) {
      if (auto trajectory = receiver.Receive(After(0.02))) {
        const uint64_t lag = counters.snapshot_version -
                             std::min(trajectory->policy_version, counters.snapshot_version);
        if (config.learner.max_policy_lag > 0 &&
            lag > static_cast<uint64_t>(config.learner.max_policy_lag)) {
          ++mine.dropped_stale;  // too old to correct for: its steps do not count as trained on
          continue;
        }
        if (synchronous && (lag != 0 || trajectory->actor_id >= batch_size ||
                            lockstep.count(trajectory->actor_id))) {
          // Not this step's unroll of an expected actor: lockstep cannot use it.
          RLREC_LOG(Warning) << "synchronous: dropped an unroll of actor " << trajectory->actor_id
                             << " on snapshot " << trajectory->policy_version << " (now "
                             << counters.snapshot_version << ", " << batch_size << " actors)";
          ++mine.dropped_stale;
          continue;
        }
        mine.env_steps += double(trajectory->unroll_length) * trajectory->num_users;
        for (float r : trajectory->episode_returns) mine.return_sum += r;
        mine.episodes += trajectory->episode_returns.size();
        if (synchronous) {
          const uint32_t id = trajectory->actor_id;
          lockstep.emplace(id, std::move(*trajectory));
        } else {
          pending.push_back(std::move(*trajectory));
        }
      }
      if (synchronous && lockstep.size() == batch_size) {
        for (auto& [id, t] : lockstep) pending.push_back(std::move(t));  // in actor-id order
        lockstep.clear();
      }
      if (pending.size() < batch_size) continue;
    }

    // This rank has a batch, or wants to stop: agree with the others on which it is.
    if (mine.stop == StopReason::kNone) {
      for (const auto& t : pending) {
        const double lag = double(counters.snapshot_version -
                                  std::min(t.policy_version, counters.snapshot_version));
        mine.lag_min = std::min(mine.lag_min, lag);
        mine.lag_max = std::max(mine.lag_max, lag);
        mine.lag_sum += lag;
        ++mine.lag_count;
      }
    }
    mine.trajectories = double(receiver.received());
    mine.decode_errors = double(receiver.decode_errors());
    agreed = Agree(world, mine, collective_timeout_s, serve);
    mine = RankReport();
    counters.env_steps += static_cast<uint64_t>(agreed.env_steps);
    window.return_sum += agreed.return_sum;
    window.episodes += static_cast<uint64_t>(agreed.episodes);
    dropped_stale += static_cast<uint64_t>(agreed.dropped_stale);
    if (agreed.stop != StopReason::kNone) {
      summary.stop_reason = StopReasonName(agreed.stop);
      break;
    }
    if (agreed.lag_count > 0) {
      window.lag_min = std::min(window.lag_min, static_cast<uint64_t>(agreed.lag_min));
      window.lag_max = std::max(window.lag_max, static_cast<uint64_t>(agreed.lag_max));
      window.lag_sum += agreed.lag_sum;
      window.lag_count += static_cast<uint64_t>(agreed.lag_count);
    }

    Batch batch = MakeBatch(pending, device);
    pending.clear();
    double mean_rho = 0;
    LossTerms terms =
        UpdateStep(model, optimizer, gradients, collective.get(), batch, objective, &mean_rho);
    window.rho_sum += mean_rho;
    ++counters.updates;
    ++window.loss_count;
    window.policy_loss += terms.policy_loss;
    window.value_loss += terms.value_loss;
    window.entropy += terms.entropy;
    window.total_loss += terms.total.item<double>();
    // Synchronous actors wait for the next snapshot: publish after every update.
    if (synchronous || counters.updates % config.learner.publish_every == 0) {
      ++counters.snapshot_version;
      if (lead) {
        publisher->Publish(common::SnapshotFromModel(*model, run_id, counters.snapshot_version));
      }
    }
    if (report_every_updates > 0 && counters.updates % report_every_updates == 0) report(false);
    if (lead &&
        ((config.run.checkpoint_every > 0 && counters.updates % config.run.checkpoint_every == 0) ||
         (config.run.checkpoint_minutes > 0 &&
          common::SecondsSince(last_checkpoint) >= 60 * config.run.checkpoint_minutes))) {
      checkpoint();
    }
  }

  summary.updates = counters.updates;
  summary.env_steps = counters.env_steps;
  summary.trajectories = static_cast<uint64_t>(received());
  summary.decode_errors = static_cast<uint64_t>(decode_errors());
  summary.snapshot_version = counters.snapshot_version;
  if (!lead) {
    RLREC_LOG(Info) << "rank " << world.rank() << " stopped (" << summary.stop_reason << ") after "
                    << counters.updates << " updates, " << receiver.received()
                    << " trajectories received here";
    return summary;
  }
  report(true);
  const std::string final_path = checkpoint();
  // final.pt: the last checkpoint under a name that stays (a hard link, or a copy).
  std::error_code ec;
  std::filesystem::remove(checkpoint_dir + "/final.pt.tmp", ec);
  std::filesystem::create_hard_link(final_path, checkpoint_dir + "/final.pt.tmp", ec);
  if (ec) std::filesystem::copy_file(final_path, checkpoint_dir + "/final.pt.tmp");
  std::filesystem::rename(checkpoint_dir + "/final.pt.tmp", checkpoint_dir + "/final.pt");
  // PUB is fire-and-forget: say it a few times, serving control meanwhile, so subscribers
  // that are busy mid-unroll still hear it.
  for (int i = 0; i < 3; ++i) {
    publisher->PublishRunEnded(run_id, summary.stop_reason);
    control->Serve(info, After(0.1));
  }
  // The endpoint is only meaningful while this learner runs.
  std::filesystem::remove(run_dir + "/" + kControlEndpointFile);
  RLREC_LOG(Info) << "stopped (" << summary.stop_reason << ") after " << counters.updates
                  << " updates, " << counters.env_steps << " env steps; checkpoint " << run_dir
                  << "/checkpoints/final.pt";
  return summary;
}

}  // namespace rlrec::learner
