#include "actors/sim/zipf_corpus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "actors/sim/counter_rng.h"

namespace rlrec::actors {
namespace {

// Draws `n` slots with counter-based bits, as the simulator does.
std::vector<uint64_t> Draws(const ZipfCorpus& corpus, int n) {
  std::vector<uint64_t> out(n);
  for (int i = 0; i < n; ++i) {
    const uint64_t bits = Bits(StepKey(7, i, 0), Draw::kCandidateItem);
    out[i] = corpus.Draw(bits, Mix64(bits));
  }
  return out;
}

TEST(ZipfCorpusTest, ASmallCorpusIsExactlyZipf) {
  ZipfCorpus corpus(100, 1.0);
  double harmonic = 0;
  for (int j = 1; j <= 100; ++j) harmonic += 1.0 / j;
  for (int j = 0; j < 100; ++j) EXPECT_NEAR(corpus.Probability(j), 1.0 / (j + 1) / harmonic, 1e-15);
  EXPECT_EQ(corpus.Probability(100), 0);
}

TEST(ZipfCorpusTest, ProbabilitiesOfAHugeCorpusFollowZipfsLawAndSumToOne) {
  for (double skew : {0.0, 0.7, 1.0, 1.3}) {
    const uint64_t n = 3'000'000;
    ZipfCorpus corpus(n, skew);
    double total = 0, weights = 0;
    for (uint64_t j = 0; j < n; ++j) {
      total += corpus.Probability(j);
      weights += std::pow(j + 1.0, -skew);
    }
    EXPECT_NEAR(total, 1.0, 1e-9) << "skew " << skew;
    // Every rank's probability is its Zipf weight over the Zipf normaliser, head and tail.
    for (uint64_t j : std::vector<uint64_t>{0, 1, 65535, 65536, 65537, 1000000, n - 1}) {
      const double zipf = std::pow(j + 1.0, -skew) / weights;
      EXPECT_NEAR(corpus.Probability(j) / zipf, 1.0, 1e-8) << "skew " << skew << " slot " << j;
    }
  }
}

TEST(ZipfCorpusTest, DrawsFollowTheStatedProbabilitiesInTheHeadAndTheTail) {
  const uint64_t n = 10'000'000;
  ZipfCorpus corpus(n, 1.0);
  const int draws = 400'000;
  // Buckets: slot 0, slot 1, slots [2, 65536), [65536, 1M), [1M, n).
  const std::vector<uint64_t> edges = {0, 1, 2, 65536, 1'000'000, n};
  std::vector<double> expected(edges.size() - 1, 0), seen(edges.size() - 1, 0);
  for (size_t b = 0; b + 1 < edges.size(); ++b) {
    for (uint64_t j = edges[b]; j < edges[b + 1]; ++j) expected[b] += corpus.Probability(j);
  }
  for (uint64_t slot : Draws(corpus, draws)) {
    ASSERT_LT(slot, n);
    for (size_t b = 0; b + 1 < edges.size(); ++b)
      seen[b] += slot >= edges[b] && slot < edges[b + 1];
  }
  for (size_t b = 0; b + 1 < edges.size(); ++b) {
    const double mean = draws * expected[b], sd = std::sqrt(mean * (1 - expected[b]));
    EXPECT_NEAR(seen[b], mean, 5 * sd + 1) << "slots [" << edges[b] << ", " << edges[b + 1] << ")";
  }
}

TEST(ZipfCorpusTest, MemoryDoesNotGrowWithTheCorpus) {
  ZipfCorpus small(ZipfCorpus::kHeadItems, 1.0), huge(1'000'000'000, 1.0);
  EXPECT_EQ(huge.HeapBytes(), small.HeapBytes());
  EXPECT_LE(huge.HeapBytes(), size_t(2) << 20);
  for (uint64_t slot : Draws(huge, 10000)) EXPECT_LT(slot, huge.size());
}

}  // namespace
}  // namespace rlrec::actors
