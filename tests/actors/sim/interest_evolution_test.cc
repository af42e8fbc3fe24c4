#include "actors/sim/interest_evolution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/sim/simulator_config.h"
#include "common/config/config.h"
#include "common/wire/world_ranges.h"

namespace rlrec::actors {
namespace {

using Options = InterestEvolutionOptions;

Options Many(int users) {
  Options o;
  o.num_users = users;
  return o;
}

// Where Observe writes only the feature rows.
ObservationBuffers FeaturesOnly(float* features) {
  ObservationBuffers buffers;
  buffers.features = features;
  return buffers;
}

// Slate of the first k candidates, in order.
std::vector<int32_t> FirstK(int users, int k) {
  std::vector<int32_t> slates(size_t(users) * k);
  for (size_t i = 0; i < slates.size(); ++i) slates[i] = static_cast<int32_t>(i % k);
  return slates;
}

// Steps every user once with `slates` and compares, per slate position, the clicks seen
// with the clicks the formula `attractiveness(user, position)` predicts (5 sigma).
template <typename Attractiveness>
void ExpectClickFrequencies(InterestEvolutionSimulator& sim, int k, double no_click,
                            Attractiveness attractiveness) {
  const int E = sim.num_users();
  std::vector<double> expected(k + 1, 0), variance(k + 1, 0), seen(k + 1, 0);
  for (int u = 0; u < E; ++u) {
    std::vector<double> a(k);
    double total = no_click;
    for (int i = 0; i < k; ++i) total += a[i] = attractiveness(u, i);
    for (int i = 0; i < k; ++i) {
      expected[i] += a[i] / total;
      variance[i] += a[i] / total * (1 - a[i] / total);
    }
    expected[k] += no_click / total;
    variance[k] += no_click / total * (1 - no_click / total);
  }
  auto slates = FirstK(E, k);
  std::vector<float> rewards(E);
  std::vector<uint8_t> dones(E);
  sim.Step(slates.data(), k, rewards.data(), dones.data());
  for (int u = 0; u < E; ++u) seen[sim.last_click(u) < 0 ? k : sim.last_click(u)] += 1;
  for (int i = 0; i <= k; ++i) {
    EXPECT_NEAR(seen[i], expected[i], 5 * std::sqrt(variance[i]) + 1)
        << (i == k ? "no click" : "position " + std::to_string(i));
  }
}

TEST(InterestEvolutionTest, ProportionalChoiceFrequenciesMatchTheFormula) {
  InterestEvolutionSimulator sim(Many(50000));
  ExpectClickFrequencies(sim, 3, /*no_click=*/2.0, [&](int u, int i) {
    return sim.interest(u, sim.candidate_topic(u, i)) + 1.0;
  });
}

TEST(InterestEvolutionTest, MultinomialLogitChoiceFrequenciesMatchTheFormula) {
  Options o = Many(50000);
  o.choice = Options::Choice::kMultinomialLogit;
  o.choice_temperature = 0.5;
  InterestEvolutionSimulator sim(o);
  ExpectClickFrequencies(sim, 3, std::exp(1.0 / 0.5), [&](int u, int i) {
    return std::exp(sim.interest(u, sim.candidate_topic(u, i)) / 0.5);
  });
}

TEST(InterestEvolutionTest, PositionBiasDiscountsLaterSlatePositions) {
  Options o = Many(50000);
  o.position_bias = 0.5;
  InterestEvolutionSimulator sim(o);
  ExpectClickFrequencies(sim, 4, 2.0, [&](int u, int i) {
    return (sim.interest(u, sim.candidate_topic(u, i)) + 1.0) * std::pow(0.5, i);
  });
}

TEST(InterestEvolutionTest, TopicQualitiesAreRecSimsRamp) {
  InterestEvolutionSimulator sim(Many(1));
  EXPECT_DOUBLE_EQ(sim.TopicQuality(0), -3.0);
  EXPECT_NEAR(sim.TopicQuality(13), 0.0, 1e-12);
  EXPECT_NEAR(sim.TopicQuality(14), 0.0, 1e-12);
  EXPECT_NEAR(sim.TopicQuality(15), 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(sim.TopicQuality(19), 3.0);
}

TEST(InterestEvolutionTest, CandidatesAreUniformOverTopicsWithQualityAroundTheTopicMean) {
  InterestEvolutionSimulator sim(Many(20000));
  std::vector<int> count(20, 0);
  std::vector<double> quality_sum(20, 0), quality_sq(20, 0);
  for (int u = 0; u < 20000; ++u) {
    for (int c = 0; c < 10; ++c) {
      int t = sim.candidate_topic(u, c);
      ++count[t];
      double q = sim.CandidateQuality(u, c);
      EXPECT_EQ(q, sim.CandidateQuality(u, c)) << "quality must not change between calls";
      quality_sum[t] += q;
      quality_sq[t] += (q - sim.TopicQuality(t)) * (q - sim.TopicQuality(t));
    }
  }
  for (int t = 0; t < 20; ++t) {
    EXPECT_NEAR(count[t], 10000, 5 * std::sqrt(200000 * 0.05 * 0.95)) << "topic " << t;
    EXPECT_NEAR(quality_sum[t] / count[t], sim.TopicQuality(t), 0.01) << "topic " << t;
    EXPECT_NEAR(std::sqrt(quality_sq[t] / count[t]), 0.1, 0.01) << "topic " << t;
  }
}

TEST(InterestEvolutionTest, InterestAndBudgetFollowTheEquationsStepByStep) {
  Options o = Many(1);
  InterestEvolutionSimulator sim(o);
  const int k = 2;
  auto slates = FirstK(1, k);
  float reward;
  uint8_t done;
  int clicks = 0, steps = 0;
  for (; steps < 2000; ++steps) {
    const double budget = sim.budget(0);
    std::vector<float> interests(20);
    for (int t = 0; t < 20; ++t) interests[t] = sim.interest(0, t);
    std::vector<double> quality(k);
    std::vector<int> topic(k);
    for (int i = 0; i < k; ++i) {
      quality[i] = sim.CandidateQuality(0, i);
      topic[i] = sim.candidate_topic(0, i);
    }
    sim.Step(slates.data(), k, &reward, &done);
    const int click = sim.last_click(0);
    double expected_budget;
    if (click >= 0) {
      ++clicks;
      const double w = std::min(budget, 4.0);
      EXPECT_FLOAT_EQ(reward, static_cast<float>(w));
      expected_budget = budget - w + 0.9 / 3.4 * w * quality[click];
      if (!done) {
        const double x = interests[topic[click]];
        const double delta = 0.3 * (1 - std::fabs(x)) * (1 - x);
        const double now = sim.interest(0, topic[click]);
        const bool up = std::fabs(now - std::clamp(x + delta, -1.0, 1.0)) < 1e-6;
        const bool down = std::fabs(now - std::clamp(x - delta, -1.0, 1.0)) < 1e-6;
        EXPECT_TRUE(up || down) << "x=" << x << " now=" << now;
        for (int t = 0; t < 20; ++t) {
          if (t != topic[click]) {
            EXPECT_EQ(sim.interest(0, t), interests[t]);
          }
        }
      }
    } else {
      EXPECT_EQ(reward, 0.f);
      expected_budget = budget - 0.5;
    }
    // The session ends exactly when the budget runs out.
    EXPECT_EQ(done != 0, expected_budget <= 0) << "step " << steps;
    if (done) break;
    EXPECT_NEAR(sim.budget(0), expected_budget, 1e-9);
  }
  EXPECT_TRUE(done) << "the session should end";
  EXPECT_GT(clicks, 0);
  EXPECT_EQ(sim.session_step(0), 0) << "a new session starts in the slot";
  EXPECT_EQ(sim.user_id(0), 1u);
}

// Runs until user `id`'s session ends; returns its rewards and observations, step by step.
std::vector<float> SessionOf(uint64_t id, int users) {
  Options o = Many(users);
  InterestEvolutionSimulator sim(o);
  const int k = 2, F = sim.feature_dim(), R = sim.num_candidates() + 1;
  auto slates = FirstK(users, k);
  std::vector<float> rewards(users), obs(size_t(users) * R * F), trace;
  std::vector<uint8_t> dones(users);
  for (int step = 0; step < 100000; ++step) {
    sim.Observe(FeaturesOnly(obs.data()));
    int slot = -1;
    for (int u = 0; u < users; ++u) slot = sim.user_id(u) == id ? u : slot;
    sim.Step(slates.data(), k, rewards.data(), dones.data());
    if (slot < 0) continue;
    trace.insert(trace.end(), obs.begin() + size_t(slot) * R * F,
                 obs.begin() + size_t(slot + 1) * R * F);
    trace.push_back(rewards[slot]);
    if (dones[slot]) return trace;
  }
  return trace;
}

TEST(InterestEvolutionTest, AUsersSessionIsIdenticalWhateverTheBatchSize) {
  auto alone = SessionOf(/*id=*/5, /*users=*/1);
  auto batched = SessionOf(5, 64);
  ASSERT_FALSE(alone.empty());
  EXPECT_EQ(alone, batched);
}

TEST(InterestEvolutionTest, FixedCorpusHasStableDistinctItemsDrawnWithThePopularitySkew) {
  Options o = Many(20000);
  o.corpus_size = 100;
  o.popularity_skew = 1.0;
  InterestEvolutionSimulator sim(o);
  std::map<uint64_t, int> topic_of;
  std::vector<int> first_draws(100, 0);
  for (int u = 0; u < 20000; ++u) {
    std::set<uint64_t> offered;
    for (int c = 0; c < 10; ++c) {
      uint64_t item = sim.candidate_item(u, c);
      ASSERT_LT(item, 100u);
      offered.insert(item);
      auto it = topic_of.emplace(item, sim.candidate_topic(u, c)).first;
      EXPECT_EQ(it->second, sim.candidate_topic(u, c)) << "item " << item << " changed topic";
    }
    EXPECT_EQ(offered.size(), 10u) << "a candidate set repeats an item";
    // The first candidate is never a redraw: it follows the popularity weights exactly.
    ++first_draws[sim.candidate_item(u, 0)];
  }
  double harmonic = 0;
  for (int j = 1; j <= 100; ++j) harmonic += 1.0 / j;
  for (int j : {0, 1, 9, 99}) {
    const double p = 1.0 / (j + 1) / harmonic;
    EXPECT_NEAR(first_draws[j], 20000 * p, 5 * std::sqrt(20000 * p * (1 - p)) + 1) << "item " << j;
    EXPECT_NEAR(sim.Popularity(j), p, 1e-12);
  }
}

TEST(InterestEvolutionTest, NewItemsEnterTheCorpusAsOldOnesExpire) {
  Options o = Many(100);
  o.corpus_size = 50;
  o.item_lifetime = 20;
  InterestEvolutionSimulator sim(o);
  auto slates = FirstK(100, 2);
  std::vector<float> rewards(100);
  std::vector<uint8_t> dones(100);
  std::set<uint64_t> first;
  for (int u = 0; u < 100; ++u) {
    for (int c = 0; c < 10; ++c) first.insert(sim.candidate_item(u, c));
  }
  for (int step = 0; step < 100; ++step) sim.Step(slates.data(), 2, rewards.data(), dones.data());
  int fresh = 0, total = 0;
  for (int u = 0; u < 100; ++u) {
    for (int c = 0; c < 10; ++c, ++total) fresh += !first.count(sim.candidate_item(u, c));
  }
  // After five lifetimes every item has been replaced: none of the first ids remains.
  EXPECT_EQ(fresh, total);
}

TEST(InterestEvolutionTest, ColdStartRateMixesUsersWithAndWithoutHistory) {
  Options o = Many(20000);
  o.cold_start_rate = 0.3;
  InterestEvolutionSimulator sim(o);
  const int F = sim.feature_dim(), R = 11;
  std::vector<float> obs(size_t(20000) * R * F);
  sim.Observe(FeaturesOnly(obs.data()));
  int cold = 0;
  for (int u = 0; u < 20000; ++u) {
    float history = 0;
    for (int t = 0; t < 20; ++t) history += obs[size_t(u) * R * F + t];
    cold += history == 0;
    if (history != 0) {
      EXPECT_FLOAT_EQ(history, 10.f);  // warm users bring 10 past clicks
    }
  }
  EXPECT_NEAR(cold, 6000, 5 * std::sqrt(20000 * 0.3 * 0.7));
  // The default, as in RecSim: every user arrives without history.
  InterestEvolutionSimulator all_cold(Many(100));
  all_cold.Observe(FeaturesOnly(obs.data()));
  for (int u = 0; u < 100; ++u) {
    for (int t = 0; t < 20; ++t) ASSERT_EQ(obs[size_t(u) * R * F + t], 0.f);
  }
}

TEST(InterestEvolutionTest, InterestDriftMovesInterestsWithoutAnyClick) {
  for (double drift : {0.0, 0.05}) {
    Options o = Many(200);
    o.interest_drift = drift;
    o.no_click_mass = 1e9;  // nobody clicks: only drift can move interests
    InterestEvolutionSimulator sim(o);
    std::vector<float> before(200 * 20);
    for (int u = 0; u < 200; ++u) {
      for (int t = 0; t < 20; ++t) before[u * 20 + t] = sim.interest(u, t);
    }
    auto slates = FirstK(200, 2);
    std::vector<float> rewards(200);
    std::vector<uint8_t> dones(200);
    sim.Step(slates.data(), 2, rewards.data(), dones.data());
    double moved = 0;
    for (int u = 0; u < 200; ++u) {
      for (int t = 0; t < 20; ++t) moved += std::fabs(sim.interest(u, t) - before[u * 20 + t]);
    }
    if (drift == 0) {
      EXPECT_EQ(moved, 0.0);
    } else {
      EXPECT_NEAR(moved / 4000, 0.05 * std::sqrt(2 / M_PI), 0.005);
    }
  }
}

TEST(InterestEvolutionTest, ObservationShowsHistoryOrTrueInterestsAsConfigured) {
  Options o = Many(3);
  o.observe_interests = true;
  InterestEvolutionSimulator sim(o);
  const int F = sim.feature_dim(), R = 11;
  std::vector<float> obs(size_t(3) * R * F);
  sim.Observe(FeaturesOnly(obs.data()));
  for (int u = 0; u < 3; ++u) {
    for (int t = 0; t < 20; ++t) EXPECT_EQ(obs[size_t(u) * R * F + t], sim.interest(u, t));
    for (int c = 0; c < 10; ++c) {
      const float* row = &obs[(size_t(u) * R + c + 1) * F];
      EXPECT_EQ(row[sim.candidate_topic(u, c)], 1.f);
      EXPECT_EQ(row[2 * 20 + 1], 1.f);
    }
  }
}

TEST(InterestEvolutionTest, HistoryShowsTheLastImpressionsNewestFirstWithTheirResponses) {
  Options o = Many(1);
  o.history_length = 5;
  o.corpus_size = 50;
  InterestEvolutionSimulator sim(o);
  const int F = sim.feature_dim(), R = 11, H = 5;
  std::vector<float> features(R * F), responses(H);
  std::vector<int64_t> candidates(10), items(H);
  std::vector<int32_t> topics(H);
  ObservationBuffers buffers{features.data(), candidates.data(), items.data(), topics.data(),
                             responses.data()};
  sim.Observe(buffers);
  for (int j = 0; j < H; ++j) {
    EXPECT_EQ(items[j], -1) << "a new session has no history";
    EXPECT_EQ(topics[j], -1);
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(candidates[c], int64_t(sim.candidate_item(0, c)));
  // Three steps of slates (2, 5): six impressions, of which the last five are kept.
  std::vector<std::vector<int64_t>> shown;
  std::vector<std::vector<int32_t>> shown_topics;
  std::vector<float> clicked_reward;
  std::vector<int> clicked_at;
  const int32_t slate[] = {2, 5};
  float reward;
  uint8_t done;
  for (int step = 0; step < 3; ++step) {
    shown.push_back({int64_t(sim.candidate_item(0, 2)), int64_t(sim.candidate_item(0, 5))});
    shown_topics.push_back({sim.candidate_topic(0, 2), sim.candidate_topic(0, 5)});
    sim.Step(slate, 2, &reward, &done);
    ASSERT_FALSE(done);
    clicked_at.push_back(sim.last_click(0));
    clicked_reward.push_back(reward);
  }
  sim.Observe(buffers);
  int j = 0;
  for (int step = 2; step >= 0 && j < H; --step) {
    for (int i = 1; i >= 0 && j < H; --i, ++j) {
      EXPECT_EQ(items[j], shown[step][i]) << "history entry " << j;
      EXPECT_EQ(topics[j], shown_topics[step][i]) << "history entry " << j;
      EXPECT_EQ(responses[j], clicked_at[step] == i ? clicked_reward[step] : 0.f);
    }
  }
}

TEST(InterestEvolutionTest, ConfigFeatureWidthMatchesTheSimulator) {
  common::RunConfig config;
  config.sim.topics = 7;
  InterestEvolutionSimulator sim(SimulatorOptions(config, TrainingUsers(3), 4));
  EXPECT_EQ(common::ObservationFeatures(config.sim.topics), sim.feature_dim());
  EXPECT_EQ(sim.user_id(0), uint64_t{3} << 40);
  EXPECT_GT(EvaluationUsers(1), TrainingUsers(4095) + (uint64_t{1} << 40));
}

// Every value the simulator writes lies within the ranges it declares (common/wire/world_ranges.h:
// the learner refuses anything outside them), under the default model and under settings
// that push the bounds: true interests shown and drifting, a large skewed corpus with
// returning users, every candidate in the slate on a short budget. Slates follow the best
// quality, so sessions run as long as they can.
TEST(InterestEvolutionTest, EveryValueItProducesLiesWithinTheRangesItDeclares) {
  std::vector<common::RunConfig> configs(4);
  configs[1].sim.observe_interests = true;
  configs[1].sim.interest_drift = 0.3;
  configs[2].sim.corpus_size = 1 << 20;
  configs[2].sim.popularity_skew = 3;
  configs[2].sim.cold_start_rate = 0;
  configs[3].sim.slate_size = configs[3].sim.candidates;
  configs[3].sim.time_budget = 20;
  configs[3].sim.cold_start_rate = 0;
  for (const common::RunConfig& config : configs) {
    const common::WorldRanges world = common::InterestEvolutionRanges(config);
    const int E = 32, C = config.sim.candidates, K = config.sim.slate_size;
    const int F = common::ObservationFeatures(config.sim.topics), H = config.sim.history_length;
    InterestEvolutionSimulator sim(SimulatorOptions(config, 0, E));
    auto arrays = common::MakeObservationArrays(E, C, F, H);
    const common::ObservationBuffers buffers = common::PointersOf(arrays);
    std::string outside;  // the first value outside its range
    const auto check = [&](float x, common::ValueRange r, const char* what, int row = 0,
                           int f = 0) {
      if (outside.empty() && !(x >= r.low && x <= r.high)) {
        outside = std::string(what) + " (row " + std::to_string(row) + ", feature " +
                  std::to_string(f) + ") is " + std::to_string(x) + ", outside [" +
                  std::to_string(r.low) + ", " + std::to_string(r.high) + "]";
      }
    };
    std::vector<double> running(E, 0);
    std::vector<int32_t> slates(size_t(E) * K);
    std::vector<float> rewards(E);
    std::vector<uint8_t> dones(E);
    double best_return = 0;
    int sessions = 0;
    for (int step = 0; step < 1000 && outside.empty(); ++step) {
      sim.Observe(buffers);
      for (int u = 0; u < E; ++u) {
        for (int row = 0; row <= C; ++row) {
          const auto& ranges = row == 0 ? world.user_row : world.candidate_row;
          for (int f = 0; f < F; ++f) {
            check(arrays.features[(size_t(u) * (C + 1) + row) * F + f], ranges[f], "feature", row,
                  f);
          }
        }
        for (int j = 0; j < H; ++j) {
          check(arrays.history_responses[size_t(u) * H + j], world.history_response, "response");
        }
        // The K candidates of best quality.
        std::vector<int32_t> order(C);
        for (int c = 0; c < C; ++c) order[c] = c;
        std::partial_sort(order.begin(), order.begin() + K, order.end(), [&](int a, int b) {
          return sim.CandidateQuality(u, a) > sim.CandidateQuality(u, b);
        });
        std::copy(order.begin(), order.begin() + K, slates.begin() + size_t(u) * K);
      }
      sim.Step(slates.data(), K, rewards.data(), dones.data());
      for (int u = 0; u < E; ++u) {
        check(rewards[u], world.reward, "reward");
        running[u] += rewards[u];
        if (!dones[u]) continue;
        check(static_cast<float>(running[u]), world.episode_return, "return");
        best_return = std::max(best_return, running[u]);
        ++sessions;
        running[u] = 0;
      }
    }
    EXPECT_EQ(outside, "") << "time_budget " << config.sim.time_budget;
    EXPECT_GT(sessions, E) << "sessions end";
    std::cout << "time_budget " << config.sim.time_budget << ": best of " << sessions << " returns "
              << best_return << ", bound " << world.episode_return.high << std::endl;
  }
}

// A document's quality lies within 5 standard deviations of its topic's: no document gives
// back more budget than a click on it costs.
TEST(InterestEvolutionTest, QualityNoiseIsCutAtFiveStandardDeviations) {
  Options o = Many(4096);
  InterestEvolutionSimulator sim(o);
  for (int u = 0; u < o.num_users; ++u) {
    for (int c = 0; c < o.num_candidates; ++c) {
      const double noise = sim.CandidateQuality(u, c) - sim.TopicQuality(sim.candidate_topic(u, c));
      ASSERT_LE(std::fabs(noise), common::kQualityStd * common::kQualityNoiseLimit + 1e-12);
    }
  }
  EXPECT_LT(common::kUserUpdate *
                (common::kMaxTopicQuality + common::kQualityStd * common::kQualityNoiseLimit),
            1.0);
}

}  // namespace
}  // namespace rlrec::actors
