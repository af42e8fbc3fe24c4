// sim_bench: environment steps per second of the interest-evolution simulator on one core,
// with random slates and no inference, and the heap allocations made inside the timed loop
// (counted by this program's operator new). Checks its own results: sessions must end,
// rewards must be watch times (0 or at most the document length) and the click rate must
// match the proportional model's range.
//
//   sim_bench [--seconds S] [--json]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "actors/sim/counter_rng.h"
#include "actors/sim/interest_evolution.h"
#include "common/base/deadline.h"
#include "common/base/json.h"
#include "tests/bench/bench_flags.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace rlrec::bench {
namespace {

struct Case {
  int candidates, slate;
  int corpus = 0;  // 0: fresh documents every step (the model's default)
};

struct Figures {
  double steps_per_s = 0;
  uint64_t allocations = 0;
  uint64_t steps = 0;
  double click_rate = 0;
  uint64_t sessions_ended = 0;
  uint64_t wrong = 0;
};

Figures Run(const Case& c, double seconds) {
  actors::InterestEvolutionOptions o;
  o.num_users = 256;
  o.num_candidates = c.candidates;
  o.corpus_size = c.corpus;
  o.popularity_skew = c.corpus > 0 ? 1.0 : 0.0;
  actors::InterestEvolutionSimulator sim(o);
  const int E = o.num_users, K = c.slate, C = c.candidates;
  std::vector<int32_t> slates(size_t(E) * K), order(C);
  std::vector<float> rewards(E);
  std::vector<uint8_t> dones(E);
  uint64_t tick = 0;
  // Random slates without replacement: a partial Fisher-Yates shuffle per user.
  auto draw_slates = [&] {
    for (int u = 0; u < E; ++u) {
      for (int i = 0; i < C; ++i) order[i] = i;
      const uint64_t key = actors::StepKey(99, u, tick);
      for (int i = 0; i < K; ++i) {
        int j = i + static_cast<int>(actors::Below(key, actors::Draw::kSlate, i, C - i));
        std::swap(order[i], order[j]);
        slates[size_t(u) * K + i] = order[i];
      }
    }
    ++tick;
  };
  Figures f;
  auto run_for = [&](double s, bool timed) {
    const auto start = common::Clock::now();
    const uint64_t allocations_before = g_allocations.load();
    uint64_t steps = 0, clicks = 0, ended = 0;
    // Check the clock every 64 batch steps only, to keep it out of the figure.
    while (common::SecondsSince(start) < s) {
      for (int rep = 0; rep < 64; ++rep) {
        draw_slates();
        sim.Step(slates.data(), K, rewards.data(), dones.data());
        for (int u = 0; u < E; ++u) {
          if (rewards[u] < 0 || rewards[u] > 4.0f) ++f.wrong;
          clicks += rewards[u] > 0;
          ended += dones[u];
        }
        steps += E;
      }
    }
    if (timed) {
      f.steps_per_s = steps / common::SecondsSince(start);
      f.allocations = g_allocations.load() - allocations_before;
      f.steps = steps;
      f.click_rate = double(clicks) / steps;
      f.sessions_ended = ended;
    }
  };
  run_for(0.5, false);  // warm-up
  run_for(seconds, true);
  // Random slates of K items: P(click) = sum(u+1) / (sum(u+1) + 2) with E[u + 1] = 1 at
  // the start, so between K/(K+2) and 1 on average over a session; well above 0.
  const double low = 0.5 * K / (K + 2.0);
  if (f.click_rate < low || f.click_rate > 1.0 || f.sessions_ended == 0) ++f.wrong;
  return f;
}

}  // namespace
}  // namespace rlrec::bench

int main(int argc, char** argv) {
  using namespace rlrec;
  double seconds = 3;
  bool json = false;
  if (!bench::ParseBenchFlags(argc, argv, "sim_bench [--seconds S] [--json]", &seconds, &json)) {
    return 2;
  }
  uint64_t wrong = 0;
  std::string out = "[";
  if (!json) {
    std::printf("%5s %3s %8s | %14s %12s %10s %10s %6s\n", "C", "K", "corpus", "env-steps/s",
                "allocs", "CTR", "sessions", "#wrong");
  }
  for (const bench::Case c :
       {bench::Case{10, 2}, bench::Case{100, 10}, bench::Case{100, 10, /*corpus=*/10000},
        bench::Case{10, 2, /*corpus=*/10000000}}) {
    bench::Figures f = bench::Run(c, seconds);
    wrong += f.wrong;
    if (json) {
      common::JsonObject o;
      o.Add("candidates", c.candidates)
          .Add("slate_size", c.slate)
          .Add("corpus_size", c.corpus)
          .Add("env_steps_per_s", f.steps_per_s)
          .Add("allocations_in_loop", f.allocations)
          .Add("click_rate", f.click_rate)
          .Add("sessions_ended", f.sessions_ended)
          .Add("wrong", f.wrong);
      out += (out.size() > 1 ? "," : "") + o.str();
    } else {
      std::printf("%5d %3d %8s | %14.0f %12llu %10.3f %10llu %6llu\n", c.candidates, c.slate,
                  c.corpus ? std::to_string(c.corpus).c_str() : "fresh", f.steps_per_s,
                  static_cast<unsigned long long>(f.allocations), f.click_rate,
                  static_cast<unsigned long long>(f.sessions_ended),
                  static_cast<unsigned long long>(f.wrong));
    }
  }
  if (json) std::printf("%s]\n", out.c_str());
  return wrong == 0 ? 0 : 1;
}
