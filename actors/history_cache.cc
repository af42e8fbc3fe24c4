#include "actors/history_cache.h"

#include <algorithm>
#include <cstring>

namespace rlrec::actors {

HistoryCache::HistoryCache(common::PolicyModelImpl& model, int64_t users)
    : model_(model),
      transformer_(model.history_transformer()),
      users_(users),
      history_(model.options().history_length) {
  TORCH_CHECK(transformer_, "HistoryCache needs a transformer user encoder");
  const auto& o = transformer_->options();
  kv_ = torch::zeros({users_, history_, o.layers, 2, o.hidden});
  ages_ = torch::zeros({users_, history_}, torch::kLong);
  valid_ = torch::zeros({users_, history_}, torch::kBool);
  items_.assign(users_ * history_, -1);
  topics_.assign(users_ * history_, -1);
  responses_.assign(users_ * history_, 0.f);
  head_.assign(users_, 0);
  known_.assign(users_, false);
}

void HistoryCache::Clear() { std::fill(known_.begin(), known_.end(), false); }

int64_t HistoryCache::Shift(int64_t u, const int64_t* items, const int32_t* topics,
                            const float* responses) const {
  const int64_t H = history_;
  if (!known_[u]) return H;
  const int64_t* kept_items = &items_[u * H];
  const int32_t* kept_topics = &topics_[u * H];
  const float* kept_responses = &responses_[u * H];
  for (int64_t s = 0; s < H; ++s) {
    const int64_t n = H - s;
    if (std::memcmp(items + s, kept_items, n * sizeof(int64_t)) == 0 &&
        std::memcmp(topics + s, kept_topics, n * sizeof(int32_t)) == 0 &&
        std::memcmp(responses + s, kept_responses, n * sizeof(float)) == 0) {
      return s;
    }
  }
  return H;
}

torch::Tensor HistoryCache::Encode(const common::TorchStates& input) {
  const int64_t E = users_, H = history_;
  TORCH_CHECK(input.history_items.sizes() == torch::IntArrayRef({E, H}), "history must be [", E,
              ", ", H, "], got ", input.history_items.sizes());
  const auto items_t = input.history_items.contiguous();
  const auto topics_t = input.history_topics.to(torch::kInt).contiguous();
  const auto responses_t = input.history_responses.contiguous();
  const int64_t* items = items_t.data_ptr<int64_t>();
  const int32_t* topics = topics_t.data_ptr<int32_t>();
  const float* responses = responses_t.data_ptr<float>();
  int64_t* ages = ages_.data_ptr<int64_t>();
  bool* valid = valid_.data_ptr<bool>();
  // The impressions to compute: their ring row (u * H + slot) and contents.
  std::vector<int64_t> rows, new_items, new_topics;
  std::vector<float> new_responses;
  for (int64_t u = 0; u < E; ++u) {
    const int64_t at = u * H;
    const int64_t s = Shift(u, items + at, topics + at, responses + at);
    head_[u] = (head_[u] + s) % H;
    for (int64_t a = 0; a < H; ++a) {
      const int64_t slot = (head_[u] - a + H) % H;
      ages[at + slot] = a;
      valid[at + slot] = topics[at + a] >= 0;
      if (a < s && topics[at + a] >= 0) {
        rows.push_back(at + slot);
        new_items.push_back(items[at + a]);
        new_topics.push_back(topics[at + a]);
        new_responses.push_back(responses[at + a]);
      }
    }
    std::copy(items + at, items + at + H, &items_[at]);
    std::copy(topics + at, topics + at + H, &topics_[at]);
    std::copy(responses + at, responses + at + H, &responses_[at]);
    known_[u] = true;
  }
  if (!rows.empty()) {
    const int64_t M = static_cast<int64_t>(rows.size());
    auto tokens = model_.HistoryTokens(torch::from_blob(new_items.data(), {M}, torch::kLong),
                                       torch::from_blob(new_topics.data(), {M}, torch::kLong),
                                       torch::from_blob(new_responses.data(), {M}));
    auto kv = transformer_->KeysValues(tokens);  // [M, L, 2, D]
    kv_.view({E * H, kv.size(1), 2, kv.size(3)})
        .index_copy_(0, torch::from_blob(rows.data(), {M}, torch::kLong), kv);
    computed_ += static_cast<uint64_t>(M);
  }
  return transformer_->Attend(kv_, ages_, valid_);
}

}  // namespace rlrec::actors
