#include "actors/sim/zipf_corpus.h"

#include <algorithm>
#include <cmath>

#include "common/base/check.h"

namespace rlrec::actors {
namespace {

// expm1(y) / y and log1p(y) / y, continuous at y = 0 (where both are 1).
double ExpM1Ratio(double y) { return std::fabs(y) < 1e-12 ? 1.0 + y / 2 : std::expm1(y) / y; }
double Log1pRatio(double y) { return std::fabs(y) < 1e-12 ? 1.0 - y / 2 : std::log1p(y) / y; }

// Alias tables (Walker/Vose) draw from a discrete distribution in O(1) per draw.
void BuildAliasTable(const std::vector<double>& p, std::vector<double>* prob,
                     std::vector<uint32_t>* alias) {
  const size_t n = p.size();
  prob->assign(n, 1.0);
  alias->resize(n);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = p[i] * n;
    (*alias)[i] = static_cast<uint32_t>(i);
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    uint32_t s = small.back(), l = large.back();
    small.pop_back();
    (*prob)[s] = scaled[s];
    (*alias)[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
}

}  // namespace

ZipfCorpus::ZipfCorpus(uint64_t items, double skew)
    : items_(items),
      skew_(skew),
      head_(static_cast<uint32_t>(std::min<uint64_t>(items, kHeadItems))) {
  RLREC_CHECK(items >= 1 && skew >= 0 && std::isfinite(skew))
      << "corpus of " << items << " items, skew " << skew;
  head_weight_.resize(head_);
  double head_total = 0;
  for (uint32_t j = 0; j < head_; ++j) head_total += head_weight_[j] = std::pow(j + 1.0, -skew);
  std::vector<double> p(head_);
  for (uint32_t j = 0; j < head_; ++j) p[j] = head_weight_[j] / head_total;
  BuildAliasTable(p, &alias_prob_, &alias_);
  total_ = head_total;
  if (items > head_) {
    const double from = head_ + 0.5, to = static_cast<double>(items) + 0.5;
    tail_from_ = TailPrimitive(from);
    tail_to_ = TailPrimitive(to);
    total_ += TailIntegral(from, to);
    head_mass_ = head_total / total_;
  }
}

double ZipfCorpus::TailIntegral(double from, double to) const {
  // from^(1-s) * integral over [1, to/from) of u^-s du, in a form without cancellation.
  const double g = 1.0 - skew_, span = std::log(to / from);
  return std::exp(g * std::log(from)) * span * ExpM1Ratio(g * span);
}

double ZipfCorpus::TailPrimitive(double t) const {
  // G(t) = (t^(1-s) - 1) / (1 - s), log t at s = 1, without the division by 1 - s.
  const double log_t = std::log(t);
  return log_t * ExpM1Ratio((1.0 - skew_) * log_t);
}

double ZipfCorpus::TailInverse(double v) const {
  // Solves G(t) = v: log t = log1p((1 - s) v) / (1 - s).
  return std::exp(v * Log1pRatio((1.0 - skew_) * v));
}

double ZipfCorpus::Probability(uint64_t slot) const {
  if (slot < head_) return head_weight_[slot] / total_;
  if (slot >= items_) return 0;
  const double rank = static_cast<double>(slot) + 1.0;
  return TailIntegral(rank - 0.5, rank + 0.5) / total_;
}

uint64_t ZipfCorpus::Draw(uint64_t bits, uint64_t more_bits) const {
  const bool head =
      head_ == items_ || static_cast<double>(more_bits >> 11) * 0x1.0p-53 < head_mass_;
  if (head) {
    uint32_t slot = static_cast<uint32_t>(((bits >> 32) * head_) >> 32);
    if (static_cast<double>(bits & 0xffffffffULL) * 0x1.0p-32 >= alias_prob_[slot]) {
      slot = alias_[slot];
    }
    return slot;
  }
  const double w = static_cast<double>(bits >> 11) * 0x1.0p-53;
  const double t = TailInverse(tail_from_ + w * (tail_to_ - tail_from_));
  const double rank = std::floor(t + 0.5);
  const double lowest = head_ + 1.0, highest = static_cast<double>(items_);
  return static_cast<uint64_t>(std::clamp(rank, lowest, highest)) - 1;
}

size_t ZipfCorpus::HeapBytes() const {
  return head_weight_.capacity() * sizeof(double) + alias_prob_.capacity() * sizeof(double) +
         alias_.capacity() * sizeof(uint32_t);
}

}  // namespace rlrec::actors
