#ifndef RLREC_ACTORS_SIM_ZIPF_CORPUS_H_
#define RLREC_ACTORS_SIM_ZIPF_CORPUS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rlrec::actors {

// Popularity of a fixed corpus of N items: slot j (rank j + 1) is drawn with probability
// proportional to (j + 1)^-skew, at a memory cost that does not grow with N.
//
// The first kHeadItems slots (all of them in a smaller corpus) are drawn exactly from an
// alias table. Past them, the weight of rank r is the integral of t^-skew over
// [r - 1/2, r + 1/2): a draw inverts that continuous distribution in closed form (one exp and
// one log1p), and its probability is known in closed form too. For r > kHeadItems the
// integral and r^-skew differ by a factor 1 + skew (skew + 1) / (24 r^2), below 1e-9, so the
// whole corpus follows Zipf's law to that precision with a table of 1.3 MB, whatever N.
// Immutable after construction; safe to share between threads.
class ZipfCorpus {
 public:
  static constexpr uint32_t kHeadItems = 1 << 16;

  // A corpus of `items` >= 1 slots, popularity exponent `skew` >= 0 (0: uniform).
  ZipfCorpus(uint64_t items, double skew);

  uint64_t size() const { return items_; }
  // Probability of drawing `slot` (< size()); the probabilities sum to 1.
  double Probability(uint64_t slot) const;
  // The slot that 128 random bits select. For a corpus of at most kHeadItems slots, only
  // `bits` is read (the upper half picks a slot, the lower half its alias).
  uint64_t Draw(uint64_t bits, uint64_t more_bits) const;
  // Heap bytes held, for memory accounting (bounded by the head table).
  size_t HeapBytes() const;

 private:
  double TailIntegral(double from, double to) const;  // integral of t^-skew over [from, to)
  double TailPrimitive(double t) const;               // G(t): integral of u^-skew over [1, t)
  double TailInverse(double v) const;                 // t whose G(t) = v

  uint64_t items_;
  double skew_;
  uint32_t head_;         // slots in the alias table: min(items, kHeadItems)
  double total_ = 0;      // normaliser: head weights plus the tail's integral
  double head_mass_ = 1;  // probability of a head draw
  double tail_from_ = 0;  // G(head + 1/2) and G(items + 1/2): the tail's range in G
  double tail_to_ = 0;
  std::vector<double> head_weight_;  // [head] (j + 1)^-skew
  std::vector<double> alias_prob_;   // [head] alias table of the head
  std::vector<uint32_t> alias_;      // [head]
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_ZIPF_CORPUS_H_
