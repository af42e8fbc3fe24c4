#include "actors/unroll_player.h"

#include <torch/torch.h>

#include <algorithm>

#include "common/base/deadline.h"

namespace rlrec::actors {

UnrollPlayer::UnrollPlayer(const common::RunConfig& config, common::PolicyModelImpl& model,
                           bool incremental)
    : model_(model),
      slate_size_(config.sim.slate_size),
      temperature_(config.model.temperature),
      epsilon_(config.model.epsilon),
      running_return_(static_cast<size_t>(config.sim.users_per_actor), 0.0) {
  if (incremental && model.options().user_encoder == common::UserEncoder::kTransformer) {
    history_cache_ = std::make_unique<HistoryCache>(model, config.sim.users_per_actor);
  }
}

void UnrollPlayer::ResetSessions() {
  std::fill(running_return_.begin(), running_return_.end(), 0.0);
}

void UnrollPlayer::WeightsChanged() {
  if (history_cache_) history_cache_->Clear();
}

UnrollOutcome UnrollPlayer::Play(UserSimulator& sim, at::Generator& generator,
                                 UnrollBuffers& buffers) {
  c10::InferenceMode inference;
  const int64_t T = buffers.rewards.size(0), E = buffers.rewards.size(1);
  running_return_.resize(static_cast<size_t>(E), 0.0);
  UnrollOutcome outcome;
  auto clock = common::Clock::now();
  // Charges the time since the last mark to `phase`.
  auto mark = [&clock](double* phase) {
    const auto now = common::Clock::now();
    *phase += std::chrono::duration<double>(now - clock).count();
    clock = now;
  };
  for (int64_t t = 0; t < T; ++t) {
    sim.Observe(buffers.StepState(t));
    mark(&times_.simulate_s);
    const auto input = buffers.StepInput(t);
    auto output = model_.ForwardWithHistory(
        input, history_cache_ ? history_cache_->Encode(input) : model_.EncodeHistory(input));
    mark(&times_.infer_s);
    auto sample =
        common::SampleSlates(output.scores, slate_size_, temperature_, generator, epsilon_);
    auto slates = buffers.slates[t];
    slates.copy_(sample.slates);
    buffers.log_probs[t].copy_(sample.log_probs);
    mark(&times_.sample_s);
    float* rewards = buffers.rewards[t].data_ptr<float>();
    uint8_t* dones = buffers.dones[t].data_ptr<uint8_t>();
    sim.Step(slates.data_ptr<int32_t>(), static_cast<int>(slate_size_), rewards, dones);
    for (int64_t u = 0; u < E; ++u) {
      running_return_[u] += rewards[u];
      if (dones[u]) {
        outcome.episode_returns.push_back(static_cast<float>(running_return_[u]));
        running_return_[u] = 0;
        ++episodes_;
      }
    }
    mark(&times_.simulate_s);
  }
  sim.Observe(buffers.BootstrapState());
  mark(&times_.simulate_s);
  return outcome;
}

}  // namespace rlrec::actors
