#include "learner/learner_loop.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <vector>

#include "common/control.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/policy_model.h"
#include "common/snapshot.h"
#include "learner/batch.h"
#include "learner/checkpoint.h"
#include "learner/pg_loss.h"
#include "learner/topk_reinforce.h"
#include "learner/trajectory_receiver.h"
#include "learner/vtrace.h"
#include "learner/weight_publisher.h"

namespace rlrec::learner {
namespace {

using common::After;
using common::Clock;

// Writes `text` to `path` through a temporary file and a rename, so readers never see it
// half-written.
void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) throw common::Unavailable("cannot write '" + temporary + "'");
  }
  std::filesystem::rename(temporary, path);
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
                          const std::atomic<bool>& stop) {
  const bool synchronous = config.learner.synchronous;
  if (synchronous && config.actor.count <= 0) {
    throw common::InvalidInput(
        "learner.synchronous needs actor.count > 0: each update waits for one unroll from each "
        "of that many actors (rlrec train passes the number it starts)");
  }
  // Synchronous rows come by update count, so two runs write the same rows.
  const uint64_t report_every_updates = config.run.report_every_updates > 0
                                            ? config.run.report_every_updates
                                        : synchronous ? 10
                                                      : 0;
  torch::Device device(config.learner.device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw common::InvalidInput(
        "learner.device = cuda, but this LibTorch sees no CUDA device (a CPU build of "
        "LibTorch, or no GPU on this machine)");
  }
  std::filesystem::create_directories(run_dir + "/checkpoints");
  WriteFileAtomically(run_dir + "/config.ini", effective_ini);
  common::MetricsWriter metrics(run_dir + "/metrics.jsonl");
  const std::string run_id = std::filesystem::path(run_dir).filename().string();

  torch::manual_seed(config.run.seed);
  const int feature_dim = common::ObservationFeatures(config);
  common::PolicyModel model(common::ModelOptions(config));
  model->to(device);
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(config.learner.learning_rate));

  ExpectedShape expected{config.actor.unroll, config.sim.candidates + 1, feature_dim,
                         config.sim.slate_size, config.sim.history_length};
  TrajectoryReceiver receiver(context,
                              Endpoint(config.transport.host, config.transport.trajectory_port),
                              config.transport.receive_hwm, expected);
  WeightPublisher publisher(context, Endpoint(config.transport.host, config.transport.weights_port),
                            size_t(config.transport.weights_chunk_kib) * 1024,
                            config.transport.weights_republish_s);
  common::ControlServer control(context,
                                Endpoint(config.transport.host, config.transport.control_port));

  TrainingCounters counters;
  publisher.Publish(common::SnapshotFromModel(*model, run_id, counters.snapshot_version));
  common::LearnerInfo info;
  info.run_id = run_id;
  info.trajectory_endpoints = {receiver.endpoint()};
  info.weights_endpoint = publisher.endpoint();
  WriteFileAtomically(run_dir + "/" + kControlEndpointFile, control.endpoint() + "\n");
  RLREC_LOG(Info) << "run " << run_id << ": control " << control.endpoint() << ", trajectories "
                  << receiver.endpoint() << ", weights " << publisher.endpoint() << ", device "
                  << device;

  PgLossOptions loss_options{config.learner.discount, config.learner.value_coef,
                             config.learner.entropy_coef, config.model.temperature};
  VTraceOptions vtrace_options{config.learner.discount,     config.learner.value_coef,
                               config.learner.entropy_coef, config.model.temperature,
                               config.learner.rho_bar,      config.learner.c_bar};
  TopKReinforceOptions topk_options{config.learner.discount, config.learner.value_coef,
                                    config.learner.entropy_coef, config.model.temperature,
                                    config.learner.importance_cap};
  const bool use_vtrace = config.learner.objective == "vtrace";
  const bool use_topk = config.learner.objective == "topk_reinforce";
  uint64_t dropped_stale = 0;
  const auto start = Clock::now();
  ReportWindow window;
  std::vector<common::Trajectory> pending;
  // Synchronous mode: this update's unroll from each actor, by actor id.
  std::map<uint32_t, common::Trajectory> lockstep;
  const size_t batch_size = synchronous ? static_cast<size_t>(config.actor.count)
                                        : static_cast<size_t>(config.learner.batch_trajectories);
  LearnerSummary summary;

  auto report = [&](bool final_row) {
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
        .Add("trajectories_received", receiver.received())
        .Add("decode_errors", receiver.decode_errors())
        .Add("dropped_stale", dropped_stale)
        .Add("mean_rho", use_vtrace && window.loss_count ? window.rho_sum / n : nan)
        .Add("snapshot_version", counters.snapshot_version)
        .Add("actors_seen", static_cast<uint64_t>(control.actors_seen().size()))
        .Add("final", final_row ? 1 : 0);
    metrics.Write(row);
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
                  static_cast<unsigned long long>(receiver.received()),
                  static_cast<unsigned long long>(receiver.decode_errors()),
                  control.actors_seen().size());
    std::fputs(line, stdout);
    std::fflush(stdout);
    window = ReportWindow();
    window.env_steps_at_start = counters.env_steps;
    window.updates_at_start = counters.updates;
  };

  // Data path: PULL → decode in place → batch → device → loss → backward → step → PUB.
  while (true) {
    if (stop) {
      summary.stop_reason = "signal";
      break;
    }
    if (config.run.budget_seconds > 0 && common::SecondsSince(start) >= config.run.budget_seconds) {
      summary.stop_reason = "time budget";
      break;
    }
    if (config.run.max_updates > 0 && counters.updates >= config.run.max_updates) {
      summary.stop_reason = "max_updates";
      break;
    }
    if (config.run.max_env_steps > 0 && counters.env_steps >= config.run.max_env_steps) {
      summary.stop_reason = "max_env_steps";
      break;
    }
    info.latest_version = counters.snapshot_version;
    info.updates = counters.updates;
    info.env_steps = counters.env_steps;
    control.Serve(info, Clock::now());
    publisher.RepublishIfDue();
    if (report_every_updates == 0 &&
        common::SecondsSince(window.start) >= config.run.report_every_s) {
      report(false);
    }

    if (auto trajectory = receiver.Receive(After(0.02))) {
      const uint64_t lag = counters.snapshot_version -
                           std::min(trajectory->policy_version, counters.snapshot_version);
      if (config.learner.max_policy_lag > 0 &&
          lag > static_cast<uint64_t>(config.learner.max_policy_lag)) {
        ++dropped_stale;  // too old to correct for: its steps do not count as trained on
        continue;
      }
      if (synchronous && (lag != 0 || trajectory->actor_id >= batch_size ||
                          lockstep.count(trajectory->actor_id))) {
        // Not this step's unroll of an expected actor: lockstep cannot use it.
        RLREC_LOG(Warning) << "synchronous: dropped an unroll of actor " << trajectory->actor_id
                           << " on snapshot " << trajectory->policy_version << " (now "
                           << counters.snapshot_version << ", " << batch_size << " actors)";
        ++dropped_stale;
        continue;
      }
      counters.env_steps += uint64_t{trajectory->unroll_length} * trajectory->num_users;
      for (float r : trajectory->episode_returns) window.return_sum += r;
      window.episodes += trajectory->episode_returns.size();
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

    for (const auto& t : pending) {
      uint64_t lag =
          counters.snapshot_version - std::min(t.policy_version, counters.snapshot_version);
      window.lag_min = std::min(window.lag_min, lag);
      window.lag_max = std::max(window.lag_max, lag);
      window.lag_sum += lag;
      ++window.lag_count;
    }
    Batch batch = MakeBatch(pending, device);
    pending.clear();
    double mean_rho = 0;
    LossTerms terms = use_vtrace ? VTraceLoss(model, batch, vtrace_options, &mean_rho)
                      : use_topk ? TopKReinforceLoss(model, batch, topk_options)
                                 : PolicyGradientLoss(model, batch, loss_options);
    window.rho_sum += mean_rho;
    optimizer.zero_grad();
    terms.total.backward();
    if (config.learner.max_grad_norm > 0) {
      torch::nn::utils::clip_grad_norm_(model->parameters(), config.learner.max_grad_norm);
    }
    optimizer.step();
    ++counters.updates;
    ++window.loss_count;
    window.policy_loss += terms.policy_loss;
    window.value_loss += terms.value_loss;
    window.entropy += terms.entropy;
    window.total_loss += terms.total.item<double>();
    // Synchronous actors wait for the next snapshot: publish after every update.
    if (synchronous || counters.updates % config.learner.publish_every == 0) {
      ++counters.snapshot_version;
      publisher.Publish(common::SnapshotFromModel(*model, run_id, counters.snapshot_version));
    }
    if (report_every_updates > 0 && counters.updates % report_every_updates == 0) report(false);
  }

  report(true);
  SaveCheckpoint(run_dir + "/checkpoints/final.pt", *model, optimizer, counters);
  // PUB is fire-and-forget: say it a few times, serving control meanwhile, so subscribers
  // that are busy mid-unroll still hear it.
  for (int i = 0; i < 3; ++i) {
    publisher.PublishRunEnded(run_id, summary.stop_reason);
    control.Serve(info, After(0.1));
  }
  // The endpoint is only meaningful while this learner runs.
  std::filesystem::remove(run_dir + "/" + kControlEndpointFile);
  RLREC_LOG(Info) << "stopped (" << summary.stop_reason << ") after " << counters.updates
                  << " updates, " << counters.env_steps << " env steps; checkpoint " << run_dir
                  << "/checkpoints/final.pt";
  summary.updates = counters.updates;
  summary.env_steps = counters.env_steps;
  summary.trajectories = receiver.received();
  summary.decode_errors = receiver.decode_errors();
  summary.snapshot_version = counters.snapshot_version;
  return summary;
}

}  // namespace rlrec::learner
