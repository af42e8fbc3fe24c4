#ifndef RLREC_ACTORS_SIM_COUNTER_RNG_H_
#define RLREC_ACTORS_SIM_COUNTER_RNG_H_

#include <cmath>
#include <cstdint>

namespace rlrec::actors {

// Counter-based random numbers: every draw is a pure function of a key (seed, user, step,
// purpose, index), so a user's session does not depend on how users are batched, on how
// many actors run, or on the order in which draws are made. Cheap (a few multiplies per
// draw) and free of state, hence safe from any thread.

// SplitMix64's finaliser: a bijective 64-bit mix with full avalanche.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The key of all draws of `user` at `step` of its session, under `seed`.
inline uint64_t StepKey(uint64_t seed, uint64_t user, uint64_t step) {
  return Mix64(Mix64(seed * 0x9e3779b97f4a7c15ULL + user) + step * 0xd1b54a32d192ed03ULL);
}

// Purposes of draws within a step, so that adding a draw of one kind never shifts another.
enum class Draw : uint64_t {
  kCandidateTopic = 1,
  kCandidateQuality,
  kCandidateItem,
  kChoice,
  kInterestMove,
  kInterest,
  kDrift,
  kColdStart,
  kHistory,
  kItemTopic,
  kItemQuality,
  kSlate,
};

// 64 random bits for draw `index` of `purpose` under `key`.
inline uint64_t Bits(uint64_t key, Draw purpose, uint64_t index = 0) {
  return Mix64(key ^ Mix64((static_cast<uint64_t>(purpose) << 40) + index));
}

// Uniform in [0, 1), 53 bits.
inline double Uniform(uint64_t key, Draw purpose, uint64_t index = 0) {
  return static_cast<double>(Bits(key, purpose, index) >> 11) * 0x1.0p-53;
}

// Uniform integer in [0, n), by multiply-shift (bias below 2^-32 for n < 2^32).
inline uint32_t Below(uint64_t key, Draw purpose, uint64_t index, uint32_t n) {
  return static_cast<uint32_t>(((Bits(key, purpose, index) >> 32) * n) >> 32);
}

// Standard normal by Box-Muller, from two uniforms of the same key and index.
inline double Normal(uint64_t key, Draw purpose, uint64_t index = 0) {
  const uint64_t bits = Bits(key, purpose, index);
  const double u1 = (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = static_cast<double>(Mix64(bits) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_SIM_COUNTER_RNG_H_
