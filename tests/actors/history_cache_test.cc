// The actor's incremental transformer encoder against the model's full recompute, on real
// simulator histories: sessions that start (with and without past clicks), end, and run long
// enough for the history window to wrap many times.
#include "actors/history_cache.h"

#include <gtest/gtest.h>

#include "actors/sim/interest_evolution.h"
#include "common/data/state_tensors.h"
#include "common/model/torch_views.h"

namespace rlrec::actors {
namespace {

struct SmallCase {
  InterestEvolutionOptions sim;
  common::PolicyModelOptions model;
};

SmallCase SmallTransformer(int users, int history) {
  SmallCase s;
  s.sim.num_users = users;
  s.sim.num_candidates = 6;
  s.sim.num_topics = 5;
  s.sim.corpus_size = 40;
  s.sim.history_length = history;
  s.sim.time_budget = 12;  // sessions of a few steps: many start and end
  s.sim.cold_start_rate = 0.5;
  s.sim.warm_history = 3;
  InterestEvolutionSimulator probe(s.sim);
  s.model.feature_dim = probe.feature_dim();
  s.model.hidden = 16;
  s.model.item_buckets = 40;
  s.model.topics = 5;
  s.model.user_encoder = common::UserEncoder::kTransformer;
  s.model.history_length = history;
  s.model.layers = 3;
  s.model.heads = 4;
  s.model.ffn = 24;
  return s;
}

// Random weights a trained model could have: age biases and null slots away from zero.
void Perturb(common::PolicyModelImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    if (p.key().find("age_bias") != std::string::npos ||
        p.key().find("null_") != std::string::npos) {
      p.value().normal_(0, 0.5);
    }
  }
}

TEST(HistoryCacheTest, IncrementalUserVectorsEqualAFullRecomputeAsSessionsStartEndAndWrap) {
  torch::manual_seed(5);
  const int E = 8, H = 6, K = 2;
  SmallCase s = SmallTransformer(E, H);
  InterestEvolutionSimulator sim(s.sim);
  common::PolicyModel model(s.model);
  Perturb(*model);
  model->eval();
  torch::NoGradGuard no_grad;
  HistoryCache cache(*model, E);
  auto state = common::EmptyStates({E}, s.sim.num_candidates, sim.feature_dim(), H);
  std::vector<int32_t> slates(E * K);
  std::vector<float> rewards(E);
  std::vector<uint8_t> dones(E);
  uint64_t ended = 0, full_entries = 0;
  const int steps = 60;  // 120 impressions per session window of 6: many wraps
  for (int t = 0; t < steps; ++t) {
    sim.Observe(common::PointersOf(state));
    const auto incremental = cache.Encode(state);
    const auto full = model->EncodeHistory(state);
    ASSERT_TRUE(torch::allclose(incremental, full, 1e-5, 1e-5))
        << "step " << t << ": largest difference "
        << (incremental - full).abs().max().item<float>();
    full_entries += (state.history_topics >= 0).sum().item<int64_t>();
    for (int u = 0; u < E; ++u) {
      slates[u * K] = (t + u) % s.sim.num_candidates;
      slates[u * K + 1] = (t + u + 1) % s.sim.num_candidates;
    }
    sim.Step(slates.data(), K, rewards.data(), dones.data());
    for (uint8_t d : dones) ended += d;
  }
  EXPECT_GT(ended, uint64_t(2 * E)) << "sessions must end and start again";
  // Only new impressions were computed: at most K per user and step, plus the past clicks a
  // returning user starts with; far fewer than a full recompute's.
  EXPECT_LE(cache.computed(), uint64_t(steps * E * K) + ended * s.sim.warm_history + E * H);
  EXPECT_LT(cache.computed() * 2, full_entries);
}

TEST(HistoryCacheTest, AfterClearEveryHistoryIsRecomputedUnderTheNewWeights) {
  torch::manual_seed(6);
  const int E = 4, H = 5;
  SmallCase s = SmallTransformer(E, H);
  s.sim.cold_start_rate = 0;  // every user starts with past clicks
  InterestEvolutionSimulator sim(s.sim);
  common::PolicyModel model(s.model);
  model->eval();
  torch::NoGradGuard no_grad;
  HistoryCache cache(*model, E);
  auto state = common::EmptyStates({E}, s.sim.num_candidates, sim.feature_dim(), H);
  sim.Observe(common::PointersOf(state));
  cache.Encode(state);
  const uint64_t first = cache.computed();
  EXPECT_EQ(first, uint64_t(E * s.sim.warm_history));
  cache.Encode(state);  // the same histories: nothing to compute
  EXPECT_EQ(cache.computed(), first);
  // New weights: what was kept is stale until cleared.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().find("memory") != std::string::npos) p.value().normal_(0, 0.5);
    }
  }
  EXPECT_FALSE(torch::allclose(cache.Encode(state), model->EncodeHistory(state), 1e-5, 1e-5));
  cache.Clear();
  EXPECT_TRUE(torch::allclose(cache.Encode(state), model->EncodeHistory(state), 1e-5, 1e-5));
  EXPECT_EQ(cache.computed(), 2 * first);
}

}  // namespace
}  // namespace rlrec::actors
