#include "actors/topic_simulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/check.h"

namespace rlrec::actors {
namespace {

constexpr double kWatchTime = 4.0;
constexpr double kStepCost = 0.5;
constexpr double kNoClickWeight = 2.0;
constexpr double kBudgetRefund = 0.9 / 3.4;
constexpr float kHistoryDecay = 0.9f;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t TopicSimulator::Rng::Next() {
  state += 0x9e3779b97f4a7c15ULL;
  return Mix(state);
}

double TopicSimulator::Rng::Uniform() { return (Next() >> 11) * 0x1.0p-53; }

double TopicSimulator::Rng::Normal() {
  double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

TopicSimulator::TopicSimulator(const TopicSimulatorOptions& options) : options_(options) {
  const int E = options.num_users, C = options.num_candidates, T = options.num_topics;
  RLREC_CHECK(E > 0 && C > 0 && T > 0) << "E=" << E << " C=" << C << " T=" << T;
  topic_quality_.resize(T);
  for (int t = 0; t < T; ++t) {
    topic_quality_[t] = T == 1 ? 0.f : static_cast<float>(-3.0 + 6.0 * t / (T - 1));
  }
  rng_.resize(E);
  for (int u = 0; u < E; ++u) {
    rng_[u].state = Mix(Mix(options.seed) ^ Mix(options.stream * 0x100000001b3ULL + u));
  }
  interests_.resize(size_t(E) * T);
  history_.resize(size_t(E) * T);
  budget_.resize(E);
  candidate_topic_.resize(size_t(E) * C);
  candidate_quality_.resize(size_t(E) * C);
  slate_weights_.resize(C + 1);
  for (int u = 0; u < E; ++u) {
    StartSession(u);
    DrawCandidates(u);
  }
}

void TopicSimulator::StartSession(int user) {
  const int T = options_.num_topics;
  for (int t = 0; t < T; ++t) {
    interests_[size_t(user) * T + t] = static_cast<float>(2.0 * rng_[user].Uniform() - 1.0);
    history_[size_t(user) * T + t] = 0.f;
  }
  budget_[user] = options_.time_budget;
}

void TopicSimulator::DrawCandidates(int user) {
  const int C = options_.num_candidates, T = options_.num_topics;
  for (int c = 0; c < C; ++c) {
    int topic = static_cast<int>(rng_[user].Uniform() * T);
    candidate_topic_[size_t(user) * C + c] = topic;
    candidate_quality_[size_t(user) * C + c] =
        static_cast<float>(topic_quality_[topic] + 0.1 * rng_[user].Normal());
  }
}

void TopicSimulator::Observe(float* out) const {
  const int E = options_.num_users, C = options_.num_candidates, T = options_.num_topics;
  const int F = T + 2, R = C + 1;
  std::memset(out, 0, sizeof(float) * size_t(E) * R * F);
  for (int u = 0; u < E; ++u) {
    float* user_row = out + size_t(u) * R * F;
    std::memcpy(user_row, &history_[size_t(u) * T], sizeof(float) * T);
    user_row[T] = static_cast<float>(budget_[u] / options_.time_budget);
    user_row[T + 1] = 1.f;
    for (int c = 0; c < C; ++c) {
      float* row = user_row + size_t(c + 1) * F;
      row[candidate_topic_[size_t(u) * C + c]] = 1.f;
    }
  }
}

void TopicSimulator::Step(const int32_t* slates, int k, float* rewards, uint8_t* dones) {
  const int E = options_.num_users, C = options_.num_candidates, T = options_.num_topics;
  for (int u = 0; u < E; ++u) {
    const int32_t* slate = slates + size_t(u) * k;
    float* interests = &interests_[size_t(u) * T];
    double total = kNoClickWeight;
    for (int i = 0; i < k; ++i) {
      RLREC_CHECK(slate[i] >= 0 && slate[i] < C) << "slate index " << slate[i];
      slate_weights_[i] = interests[candidate_topic_[size_t(u) * C + slate[i]]] + 1.0;
      total += slate_weights_[i];
    }
    double draw = rng_[u].Uniform() * total;
    int clicked = -1;
    for (int i = 0; i < k && clicked < 0; ++i) {
      if (draw < slate_weights_[i]) clicked = i;
      draw -= slate_weights_[i];
    }
    float reward = 0.f;
    float* history = &history_[size_t(u) * T];
    for (int t = 0; t < T; ++t) history[t] *= kHistoryDecay;
    if (clicked >= 0) {
      const int item = slate[clicked];
      const int topic = candidate_topic_[size_t(u) * C + item];
      const double watch = std::min(budget_[u], kWatchTime);
      reward = static_cast<float>(watch);
      history[topic] += 1.f;
      const double x = interests[topic];
      const double delta = 0.3 * (1.0 - std::fabs(x)) * (1.0 - x);
      double moved = rng_[u].Uniform() < (x + 1.0) / 2.0 ? x + delta : x - delta;
      interests[topic] = static_cast<float>(std::clamp(moved, -1.0, 1.0));
      budget_[u] += -watch + kBudgetRefund * watch * candidate_quality_[size_t(u) * C + item];
    } else {
      budget_[u] -= kStepCost;
    }
    rewards[u] = reward;
    dones[u] = budget_[u] <= 0 ? 1 : 0;
    if (dones[u]) StartSession(u);
    DrawCandidates(u);
  }
}

}  // namespace rlrec::actors
