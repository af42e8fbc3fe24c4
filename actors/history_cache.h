#ifndef RLREC_ACTORS_HISTORY_CACHE_H_
#define RLREC_ACTORS_HISTORY_CACHE_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/model/policy_model.h"

namespace rlrec::actors {

// An actor's incremental transformer encoder (common/model/history_transformer.h): for each of E
// users it keeps every layer's keys and values of the impressions in the user's history
// window, in a ring of H slots, and the impressions they belong to. Each step it compares the
// observed history with the kept one, finds how far the window moved, computes keys and
// values of the new impressions only, and runs the query stream over the ring: the cost per
// step is independent of H except for the attention read. A history that matches no shift of
// the kept one (a session that started, a new user) is recomputed whole. Its answers equal
// the model's full recompute (PolicyModelImpl::EncodeHistory) up to float rounding. Keys and
// values belong to one set of weights: Clear() when they change. Not thread-safe.
class HistoryCache {
 public:
  // `model` (a transformer model) must outlive the cache.
  HistoryCache(common::PolicyModelImpl& model, int64_t users);

  // The user vectors [E, D] of the histories in `input` ([E, H] each, newest first).
  torch::Tensor Encode(const common::TorchStates& input);

  // Forgets every kept impression: the next Encode recomputes every history whole.
  void Clear();

  // Impressions whose keys and values were computed, over every Encode.
  uint64_t computed() const { return computed_; }

 private:
  // The smallest shift s such that the observed entries of ages [s, H) are the kept entries
  // of ages [0, H - s) of user `u`; H when there is none.
  int64_t Shift(int64_t u, const int64_t* items, const int32_t* topics,
                const float* responses) const;

  common::PolicyModelImpl& model_;
  common::HistoryTransformer transformer_;
  const int64_t users_, history_;
  torch::Tensor kv_;     // float [E, H, L, 2, D]: keys and values by ring slot
  torch::Tensor ages_;   // int64 [E, H]: age of each slot's impression
  torch::Tensor valid_;  // bool [E, H]: whether the slot holds an impression
  // What the ring holds, by age, newest first: [E * H] each.
  std::vector<int64_t> items_;
  std::vector<int32_t> topics_;
  std::vector<float> responses_;
  std::vector<int64_t> head_;  // slot of age 0, per user
  std::vector<bool> known_;    // whether the user's ring holds anything
  uint64_t computed_ = 0;
};

}  // namespace rlrec::actors

#endif  // RLREC_ACTORS_HISTORY_CACHE_H_
