// actor_bench: what one actor core does, without the network: the actor's data path
// (actors/unroll_player.h: simulator → batched inference → slate sampling → unroll buffers)
// and the trajectory encoding (Cap'n Proto), on one thread, for each user encoder of the
// model the configuration describes (configs/local.ini's by default; the transformer both
// incrementally, as actors run it, and recomputing every history whole). Prints env-steps/s and
// where the time goes (simulate, infer, sample, encode). Checks its own results: every
// encoded unroll decodes and validates, rewards are watch times, log-probabilities are finite
// and at most 0, and sessions end.
//
//   build/bench/actor_bench [--seconds S] [--json] [--config FILE] [--section.key=value ...]
#include <sched.h>
#include <torch/torch.h>
#include <zmq.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "actors/actor_epochs.h"
#include "actors/unroll_buffers.h"
#include "actors/unroll_player.h"
#include "common/base/deadline.h"
#include "common/base/json.h"
#include "common/base/malloc_tuning.h"
#include "common/base/run_main.h"
#include "common/config/config.h"
#include "common/model/compute_threads.h"
#include "common/model/policy_model.h"
#include "common/wire/trajectory_codec.h"

namespace rlrec::bench {
namespace {

struct Figures {
  double env_steps_per_s = 0;
  uint64_t env_steps = 0;
  actors::ActorPhaseTimes times;
  double message_bytes = 0;  // per unroll
  uint64_t wrong = 0;
};

// The frames of `message` as a receiver holds them (copied into ZeroMQ messages).
std::shared_ptr<const common::Multipart> Received(const common::OutgoingMessage& message) {
  auto received = std::make_shared<common::Multipart>();
  for (const auto& frame : message.frames) {
    zmq_msg_t* msg = received->AddFrame();
    if (zmq_msg_init_size(msg, frame.bytes) != 0) throw std::bad_alloc();
    if (frame.bytes) std::memcpy(zmq_msg_data(msg), frame.data, frame.bytes);
  }
  return received;
}

// Checks one unroll: its message decodes and validates, its numbers are in range.
uint64_t CheckUnroll(const common::OutgoingMessage& message, const actors::UnrollBuffers& buffers) {
  uint64_t wrong = 0;
  try {
    common::ValidateTrajectory(common::DecodeTrajectory(Received(message)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actor_bench: an unroll does not decode: %s\n", e.what());
    ++wrong;
  }
  const auto rewards = buffers.rewards, log_probs = buffers.log_probs;
  if ((rewards < 0).any().item<bool>() || (rewards > 4.0).any().item<bool>()) ++wrong;
  if (!torch::isfinite(log_probs).all().item<bool>() || (log_probs > 1e-5).any().item<bool>()) {
    ++wrong;
  }
  return wrong;
}

Figures Run(const common::RunConfig& config, bool incremental, double seconds) {
  torch::manual_seed(1);
  common::PolicyModel model(common::ModelOptions(config));
  model->eval();
  actors::ActorEpochs epochs(config, /*actor_id=*/0, /*first_version=*/1);
  actors::UnrollPlayer player(config, *model, incremental);
  auto& sim = epochs.simulator();
  const int64_t T = config.actor.unroll, E = sim.num_users(), C = sim.num_candidates();
  const int64_t F = sim.feature_dim(), K = config.sim.slate_size, H = sim.history_length();
  Figures f;
  uint64_t episodes = 0;
  double encode_s = 0, bytes = 0;
  auto run_for = [&](double s, bool timed) {
    const actors::ActorPhaseTimes before = player.times();
    const uint64_t episodes_before = player.episodes();
    encode_s = 0;
    bytes = 0;
    uint64_t steps = 0, unrolls = 0;
    const auto start = common::Clock::now();
    while (common::SecondsSince(start) < s) {
      // A new buffer per unroll, as the actor makes (the last may still be queued).
      auto buffers = std::make_shared<actors::UnrollBuffers>(T, E, C, F, K, H);
      auto outcome = player.Play(sim, epochs.generator(), *buffers);
      const auto encode_start = common::Clock::now();
      const auto message = common::EncodeTrajectory(
          actors::UnrollBuffers::ToTrajectory(buffers, 0, 1, std::move(outcome.episode_returns)));
      encode_s += common::SecondsSince(encode_start);
      bytes += static_cast<double>(message.total_bytes());
      // Checking is not timed: every 16th unroll, and the first.
      if (timed && unrolls % 16 == 0) f.wrong += CheckUnroll(message, *buffers);
      steps += static_cast<uint64_t>(T * E);
      ++unrolls;
    }
    if (!timed) return;
    const double elapsed = common::SecondsSince(start);
    f.env_steps = steps;
    f.env_steps_per_s = steps / elapsed;
    const auto& after = player.times();
    f.times.simulate_s = after.simulate_s - before.simulate_s;
    f.times.infer_s = after.infer_s - before.infer_s;
    f.times.sample_s = after.sample_s - before.sample_s;
    f.times.encode_s = encode_s;
    f.message_bytes = bytes / static_cast<double>(unrolls);
    episodes = player.episodes() - episodes_before;
  };
  run_for(std::min(1.0, seconds / 3), false);  // warm-up
  run_for(seconds, true);
  if (episodes == 0) ++f.wrong;
  return f;
}

}  // namespace
}  // namespace rlrec::bench

namespace {

int BenchMain(int argc, const char* const* argv) {
  double seconds = 5;
  bool json = false;
  rlrec::common::ProgramOptions extra("actor_bench");
  extra.Add("seconds", &seconds, "timed seconds per case", /*show_default=*/true)
      .Flag("json", &json, "print JSON");
  auto parsed = rlrec::common::ParseArgs(
      argc, argv, "actor_bench",
      "actor_bench [--seconds S] [--json] [--config FILE] [--section.key=value ...]", extra);
  if (!parsed) return 0;
  // One core, as the figure says: the process and every thread it starts (LibTorch's, BLAS's)
  // run on the first CPU it may use.
  cpu_set_t allowed, one;
  CPU_ZERO(&one);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &allowed)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    if (sched_setaffinity(0, sizeof(one), &one) != 0) std::perror("actor_bench: sched_setaffinity");
  }
  rlrec::common::SetComputeThreads(1);
  rlrec::common::KeepFreedMemory();
  uint64_t wrong = 0;
  std::string out = "[";
  if (!json) {
    std::printf("%-17s %6s | %12s %9s %9s %9s %9s %11s %6s\n", "encoder", "users", "env-steps/s",
                "simulate", "infer", "sample", "encode", "bytes/unroll", "#wrong");
  }
  using rlrec::common::UserEncoder;
  const std::pair<UserEncoder, bool> cases[] = {{UserEncoder::kPooled, false},
                                                {UserEncoder::kGru, false},
                                                {UserEncoder::kTransformer, true},
                                                {UserEncoder::kTransformer, false}};
  for (const auto& [encoder, incremental] : cases) {
    rlrec::common::RunConfig config = parsed->config;
    config.model.user_encoder = encoder;
    const auto f = rlrec::bench::Run(config, incremental, seconds);
    wrong += f.wrong;
    const double total = f.times.total_s();
    std::string name = rlrec::common::ChoiceName(encoder);
    if (encoder == UserEncoder::kTransformer) name += incremental ? "/incr" : "/full";
    if (json) {
      rlrec::common::JsonObject o;
      o.Add("user_encoder", rlrec::common::ChoiceName(encoder))
          .Add("incremental", incremental)
          .Add("users_per_actor", static_cast<int64_t>(config.sim.users_per_actor))
          .Add("env_steps_per_s", f.env_steps_per_s)
          .Add("env_steps", f.env_steps)
          .Add("simulate_share", f.times.simulate_s / total)
          .Add("infer_share", f.times.infer_s / total)
          .Add("sample_share", f.times.sample_s / total)
          .Add("encode_share", f.times.encode_s / total)
          .Add("message_bytes", f.message_bytes)
          .Add("wrong", f.wrong);
      out += (out.size() > 1 ? "," : "") + o.str();
    } else {
      std::printf("%-17s %6d | %12.0f %8.1f%% %8.1f%% %8.1f%% %8.1f%% %11.0f %6llu\n", name.c_str(),
                  config.sim.users_per_actor, f.env_steps_per_s, 100 * f.times.simulate_s / total,
                  100 * f.times.infer_s / total, 100 * f.times.sample_s / total,
                  100 * f.times.encode_s / total, f.message_bytes,
                  static_cast<unsigned long long>(f.wrong));
    }
  }
  if (json) std::printf("%s]\n", out.c_str());
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return rlrec::common::RunMain("actor_bench", BenchMain, argc, argv);
}
