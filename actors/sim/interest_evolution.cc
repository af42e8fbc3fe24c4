#include "actors/sim/interest_evolution.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "actors/sim/counter_rng.h"
#include "common/base/check.h"

namespace rlrec::actors {
namespace {

using common::kHistoryDecay;
using common::kQualityNoiseLimit;
using common::kQualityStd;

}  // namespace

InterestEvolutionSimulator::InterestEvolutionSimulator(const InterestEvolutionOptions& options)
    : options_(options) {
  const int E = options.num_users, C = options.num_candidates, T = options.num_topics;
  RLREC_CHECK(E > 0 && C > 0 && T > 0) << "E=" << E << " C=" << C << " T=" << T;
  topic_quality_.resize(T);
  if (T == 20) {
    // RecSim: concat(linspace(-3, 0, 14), linspace(0, 3, 6)).
    for (int t = 0; t < 14; ++t) topic_quality_[t] = -3.0 + 3.0 * t / 13;
    for (int t = 0; t < 6; ++t) topic_quality_[14 + t] = 3.0 * t / 5;
  } else {
    for (int t = 0; t < T; ++t) topic_quality_[t] = T == 1 ? 0.0 : -3.0 + 6.0 * t / (T - 1);
  }
  if (options.corpus_size > 0) {
    corpus_.emplace(options.corpus_size, options.popularity_skew);
    slot_topic_.resize(std::min<size_t>(options.corpus_size, ZipfCorpus::kHeadItems));
    for (size_t j = 0; j < slot_topic_.size(); ++j) slot_topic_[j] = ItemTopic(j);
  }
  user_id_.resize(E);
  session_step_.resize(E);
  budget_.resize(E);
  interests_.resize(size_t(E) * T);
  clicks_.resize(size_t(E) * T);
  impressions_.resize(size_t(E) * T);
  candidate_topic_.resize(size_t(E) * C);
  candidate_item_.resize(size_t(E) * C);
  last_click_.assign(E, -1);
  slate_attractiveness_.resize(C);
  position_weight_.resize(C);
  for (int p = 0; p < C; ++p) position_weight_[p] = std::pow(options.position_bias, p);
  const size_t H = static_cast<size_t>(std::max(0, options.history_length));
  history_item_.assign(E * H, -1);
  history_topic_.assign(E * H, -1);
  history_response_.assign(E * H, 0.f);
  history_head_.assign(E, 0);
  history_count_.assign(E, 0);
  size_t table = 16;
  while (table < size_t(2) * C) table *= 2;
  seen_item_.assign(table, 0);
  seen_stamp_.assign(table, 0);
  for (int u = 0; u < E; ++u) {
    user_id_[u] = options.first_user + u;
    StartSession(u);
    DrawCandidates(u);
  }
}

size_t InterestEvolutionSimulator::CorpusHeapBytes() const {
  return (corpus_ ? corpus_->HeapBytes() : 0) + slot_topic_.capacity() * sizeof(int32_t);
}

int32_t InterestEvolutionSimulator::ItemTopic(uint64_t item) const {
  return static_cast<int32_t>(
      Below(StepKey(options_.seed, ~item, 0), Draw::kItemTopic, 0, options_.num_topics));
}

uint64_t InterestEvolutionSimulator::Key(int user) const {
  return StepKey(options_.seed, user_id_[user], session_step_[user]);
}

void InterestEvolutionSimulator::Remember(int user, int64_t item, int32_t topic, float response) {
  const int H = options_.history_length;
  if (H <= 0) return;
  const size_t at = size_t(user) * H + history_head_[user];
  history_item_[at] = item;
  history_topic_[at] = topic;
  history_response_[at] = response;
  history_head_[user] = (history_head_[user] + 1) % H;
  history_count_[user] = std::min(history_count_[user] + 1, H);
}

void InterestEvolutionSimulator::StartSession(int user) {
  const int T = options_.num_topics;
  session_step_[user] = 0;
  budget_[user] = options_.time_budget;
  history_head_[user] = 0;
  history_count_[user] = 0;
  const uint64_t key = Key(user);
  float* interests = &interests_[size_t(user) * T];
  float* clicks = &clicks_[size_t(user) * T];
  for (int t = 0; t < T; ++t) {
    interests[t] = static_cast<float>(2.0 * Uniform(key, Draw::kInterest, t) - 1.0);
    clicks[t] = 0.f;
    impressions_[size_t(user) * T + t] = 0.f;
  }
  if (Uniform(key, Draw::kColdStart) >= options_.cold_start_rate) {
    // A returning user: past clicks on topics drawn in proportion to interest + 1.
    double total = 0;
    for (int t = 0; t < T; ++t) total += interests[t] + 1.0;
    for (int h = 0; h < options_.warm_history; ++h) {
      double draw = Uniform(key, Draw::kHistory, h) * total;
      int t = 0;
      while (t + 1 < T && draw >= interests[t] + 1.0) draw -= interests[t++] + 1.0;
      clicks[t] += 1.f;
      impressions_[size_t(user) * T + t] += 1.f;
      Remember(user, -1, t, static_cast<float>(options_.document_length));
    }
  }
}

void InterestEvolutionSimulator::DrawCandidates(int user) {
  const int C = options_.num_candidates, T = options_.num_topics;
  const uint64_t key = Key(user);
  int32_t* topics = &candidate_topic_[size_t(user) * C];
  uint64_t* items = &candidate_item_[size_t(user) * C];
  if (options_.corpus_size == 0) {
    for (int c = 0; c < C; ++c) {
      topics[c] = static_cast<int32_t>(Below(key, Draw::kCandidateTopic, c, T));
      items[c] = 0;
    }
    return;
  }
  const uint32_t N = static_cast<uint32_t>(options_.corpus_size);
  const uint64_t lifetime = options_.item_lifetime;
  // A candidate set holds distinct items: a repeat is drawn again (a few times at most, so
  // a corpus barely larger than C under a strong skew cannot stall the step).
  constexpr int kMaxRedraws = 16;
  const size_t mask = seen_item_.size() - 1;
  if (++stamp_ == 0) {
    std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0);
    stamp_ = 1;
  }
  for (int c = 0; c < C; ++c) {
    uint64_t item = 0;
    for (int attempt = 0; attempt <= kMaxRedraws; ++attempt) {
      const uint64_t bits = Bits(key, Draw::kCandidateItem, c + uint64_t(attempt) * C);
      const uint64_t slot = corpus_->Draw(bits, Mix64(bits));
      // With turnover, slot j holds generation (clock + phase_j) / lifetime of its items.
      uint64_t generation = 0;
      if (lifetime > 0) generation = (clock_ + Mix64(options_.seed ^ slot) % lifetime) / lifetime;
      item = generation * N + slot;
      size_t h = Mix64(item) & mask;
      bool repeat = false;
      while (seen_stamp_[h] == stamp_) {
        if (seen_item_[h] == item) {
          repeat = true;
          break;
        }
        h = (h + 1) & mask;
      }
      if (!repeat || attempt == kMaxRedraws) {
        seen_stamp_[h] = stamp_;
        seen_item_[h] = item;
        break;
      }
    }
    items[c] = item;
    // Popular items of the first generation (all of them without turnover) have their topic
    // cached.
    topics[c] = item < slot_topic_.size() ? slot_topic_[item] : ItemTopic(item);
  }
}

double InterestEvolutionSimulator::CandidateQuality(int user, int c) const {
  const int topic = candidate_topic(user, c);
  const double noise =
      options_.corpus_size == 0
          ? Normal(Key(user), Draw::kCandidateQuality, c)
          : Normal(StepKey(options_.seed, ~candidate_item(user, c), 0), Draw::kItemQuality);
  return topic_quality_[topic] +
         kQualityStd * std::clamp(noise, -kQualityNoiseLimit, kQualityNoiseLimit);
}

double InterestEvolutionSimulator::Attractiveness(int user, int c, int position) const {
  const double u_c = interest(user, candidate_topic(user, c));
  const double bias = position_weight_[position];
  if (options_.choice == InterestEvolutionOptions::Choice::kProportional) {
    return (u_c + 1.0) * bias;
  }
  return std::exp(u_c / options_.choice_temperature) * bias;
}

double InterestEvolutionSimulator::NoClickAttractiveness() const {
  if (options_.choice == InterestEvolutionOptions::Choice::kProportional) {
    return options_.no_click_mass + 1.0;
  }
  return std::exp(options_.no_click_mass / options_.choice_temperature);
}

void InterestEvolutionSimulator::Observe(const ObservationBuffers& buffers) const {
  const int E = options_.num_users, C = options_.num_candidates, T = options_.num_topics;
  const int F = feature_dim(), R = C + 1, H = options_.history_length;
  float* out = buffers.features;
  std::memset(out, 0, sizeof(float) * size_t(E) * R * F);
  for (int u = 0; u < E; ++u) {
    float* row = out + size_t(u) * R * F;
    std::memcpy(row,
                options_.observe_interests ? &interests_[size_t(u) * T] : &clicks_[size_t(u) * T],
                sizeof(float) * T);
    std::memcpy(row + T, &impressions_[size_t(u) * T], sizeof(float) * T);
    row[2 * T] = static_cast<float>(
        std::min(static_cast<double>(session_step_[u]), common::kMaxObservedSessionSteps) / 100.0);
    row[2 * T + 1] = 1.f;
    for (int c = 0; c < C; ++c) {
      float* candidate = row + size_t(c + 1) * F;
      candidate[candidate_topic_[size_t(u) * C + c]] = 1.f;
      if (options_.corpus_size > 0) {
        const uint64_t slot = candidate_item_[size_t(u) * C + c] % options_.corpus_size;
        candidate[2 * T] = static_cast<float>(std::log(Popularity(slot) * options_.corpus_size));
      }
      candidate[2 * T + 1] = 1.f;
      if (buffers.candidate_items) {
        buffers.candidate_items[size_t(u) * C + c] =
            options_.corpus_size > 0 ? static_cast<int64_t>(candidate_item_[size_t(u) * C + c])
                                     : -1;
      }
    }
    if (H <= 0 || !buffers.history_items) continue;
    for (int j = 0; j < H; ++j) {
      const size_t to = size_t(u) * H + j;
      if (j < history_count_[u]) {
        const size_t from = size_t(u) * H + (history_head_[u] - 1 - j + 2 * H) % H;
        buffers.history_items[to] = history_item_[from];
        buffers.history_topics[to] = history_topic_[from];
        buffers.history_responses[to] = history_response_[from];
      } else {
        buffers.history_items[to] = -1;
        buffers.history_topics[to] = -1;
        buffers.history_responses[to] = 0.f;
      }
    }
  }
}

void InterestEvolutionSimulator::Step(const int32_t* slates, int k, float* rewards,
                                      uint8_t* dones) {
  const int E = options_.num_users, C = options_.num_candidates, T = options_.num_topics;
  const double no_click = NoClickAttractiveness();
  for (int u = 0; u < E; ++u) {
    const int32_t* slate = slates + size_t(u) * k;
    const uint64_t key = Key(u);
    // Each item's attractiveness once (into scratch sized at construction), then the draw.
    RLREC_CHECK(k <= C) << "slate of " << k << " items from " << C << " candidates";
    double total = no_click;
    for (int i = 0; i < k; ++i) {
      RLREC_CHECK(slate[i] >= 0 && slate[i] < C) << "slate index " << slate[i];
      total += slate_attractiveness_[i] = Attractiveness(u, slate[i], i);
    }
    double draw = Uniform(key, Draw::kChoice) * total;
    int clicked = -1;
    for (int i = 0; i < k; ++i) {
      const double a = slate_attractiveness_[i];
      if (draw < a) {
        clicked = i;
        break;
      }
      draw -= a;
    }
    float* interests = &interests_[size_t(u) * T];
    float* clicks = &clicks_[size_t(u) * T];
    float* impressions = &impressions_[size_t(u) * T];
    for (int t = 0; t < T; ++t) {
      clicks[t] *= kHistoryDecay;
      impressions[t] *= kHistoryDecay;
    }
    float reward = 0.f;
    if (clicked >= 0) {
      const int c = slate[clicked];
      const int topic = candidate_topic_[size_t(u) * C + c];
      const double quality = CandidateQuality(u, c);
      const double watch = std::min(budget_[u], options_.document_length);
      reward = static_cast<float>(watch);
      const double x = interests[topic];
      const double delta = 0.3 * (1.0 - std::fabs(x)) * (1.0 - x);
      const double moved =
          Uniform(key, Draw::kInterestMove) < (x + 1.0) / 2.0 ? x + delta : x - delta;
      interests[topic] = static_cast<float>(std::clamp(moved, -1.0, 1.0));
      clicks[topic] += 1.f;
      budget_[u] += -watch + options_.user_update * watch * quality;
    } else {
      budget_[u] -= options_.step_penalty;
    }
    if (options_.interest_drift > 0) {
      for (int t = 0; t < T; ++t) {
        const double drifted =
            interests[t] + options_.interest_drift * Normal(key, Draw::kDrift, t);
        interests[t] = static_cast<float>(std::clamp(drifted, -1.0, 1.0));
      }
    }
    for (int i = 0; i < k; ++i) {
      const int32_t topic = candidate_topic_[size_t(u) * C + slate[i]];
      impressions[topic] += 1.f;
      const int64_t item = options_.corpus_size > 0
                               ? static_cast<int64_t>(candidate_item_[size_t(u) * C + slate[i]])
                               : -1;
      Remember(u, item, topic, i == clicked ? reward : 0.f);
    }
    rewards[u] = reward;
    last_click_[u] = clicked;
    dones[u] = budget_[u] <= 0 ? 1 : 0;
    ++session_step_[u];
    if (dones[u]) {
      user_id_[u] += static_cast<uint64_t>(E);
      StartSession(u);
    }
    DrawCandidates(u);
  }
  ++clock_;
}

}  // namespace rlrec::actors
