#ifndef RLREC_COMMON_DATA_STATE_TENSORS_H_
#define RLREC_COMMON_DATA_STATE_TENSORS_H_

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "common/data/tensor_view.h"

namespace rlrec::common {

// What the policy sees of a state, declared once: the feature rows and the ids behind them.
// A batch of states has leading dimensions ([E] users, [T, E] steps of an unroll, [N]
// states); after them each tensor ends as its comment says, for C candidates, F features per
// row and H history entries. History entries are newest first; -1 marks an empty entry or,
// for items, a document without a stable id.
//
// Slot<T> is what holds each tensor, T its element type in the simulator and on the wire:
// StateTensors<Pointer> are the arrays a simulator writes (ObservationBuffers),
// StateTensors<View> the views of a trajectory, StateTensors<TorchTensor> (common/model/snapshot.h)
// LibTorch tensors of unroll buffers, batches and policy inputs.
template <template <typename> class Slot>
struct StateTensors {
  Slot<float> features{};           // [..., 1 + C, F]: row 0 the user, rows 1..C the candidates
  Slot<int64_t> candidate_items{};  // [..., C]: stable item ids; -1 for fresh documents
  Slot<int64_t> history_items{};    // [..., H]: the user's last H impressions; -1: none yet
  Slot<int32_t> history_topics{};   // [..., H]: their topics; -1: none yet
  Slot<float> history_responses{};  // [..., H]: watch time, 0 for an impression without a click

  // The tensors in the order above, which is also their order in kStateTensorSpecs and on
  // the wire.
  auto Fields() {
    return std::tie(features, candidate_items, history_items, history_topics, history_responses);
  }
  auto Fields() const {
    return std::tie(features, candidate_items, history_items, history_topics, history_responses);
  }
};

template <typename T>
using Pointer = T*;
template <typename T>
using View = TensorView;
template <typename T>
using Array = std::vector<T>;

// Where a simulator writes one observation of E users. The caller owns the arrays.
using ObservationBuffers = StateTensors<Pointer>;
// Views of a batch of states, e.g. a trajectory's steps.
using StateViews = StateTensors<View>;
// Arrays that own one observation of E users (MakeObservationArrays).
using ObservationArrays = StateTensors<Array>;

// How a state tensor's shape ends, after its leading dimensions.
enum class StateTail { kRowsByFeatures, kCandidates, kHistory };

// One state tensor: its name (in error messages and on the wire), element type and tail.
struct StateTensorSpec {
  const char* name;
  DType dtype;
  StateTail tail;
};

// The specs of StateTensors' fields, in field order.
inline constexpr StateTensorSpec kStateTensorSpecs[] = {
    {"features", DType::kFloat32, StateTail::kRowsByFeatures},
    {"candidate_items", DType::kInt64, StateTail::kCandidates},
    {"history_items", DType::kInt64, StateTail::kHistory},
    {"history_topics", DType::kInt32, StateTail::kHistory},
    {"history_responses", DType::kFloat32, StateTail::kHistory},
};
inline constexpr size_t kNumStateTensors = std::size(kStateTensorSpecs);

// The shape of tensor `spec` for states with leading dimensions `lead`, C candidates, F
// features per row and H history entries.
inline std::vector<int64_t> StateShape(const StateTensorSpec& spec, std::vector<int64_t> lead,
                                       int64_t C, int64_t F, int64_t H) {
  switch (spec.tail) {
    case StateTail::kRowsByFeatures:
      lead.push_back(C + 1);
      lead.push_back(F);
      break;
    case StateTail::kCandidates:
      lead.push_back(C);
      break;
    case StateTail::kHistory:
      lead.push_back(H);
      break;
  }
  return lead;
}

namespace state_internal {
template <typename Fields, typename Fn, size_t... I>
void ForEach(Fields&& fields, Fn& fn, std::index_sequence<I...>) {
  (fn(kStateTensorSpecs[I], std::get<I>(fields)), ...);
}
template <typename AFields, typename BFields, typename Fn, size_t... I>
void ForEach(AFields&& a, BFields&& b, Fn& fn, std::index_sequence<I...>) {
  (fn(kStateTensorSpecs[I], std::get<I>(a), std::get<I>(b)), ...);
}
}  // namespace state_internal

// Calls fn(spec, field) for every field of `state`, in order.
template <typename State, typename Fn>
void ForEachStateTensor(State&& state, Fn&& fn) {
  state_internal::ForEach(state.Fields(), fn, std::make_index_sequence<kNumStateTensors>());
}

// Calls fn(spec, a_field, b_field) for the matching fields of `a` and `b`, in order.
template <typename A, typename B, typename Fn>
void ForEachStateTensor(A&& a, B&& b, Fn&& fn) {
  state_internal::ForEach(a.Fields(), b.Fields(), fn, std::make_index_sequence<kNumStateTensors>());
}

// Arrays for the observation of `users` users with C candidates, F features per row and H
// history entries, and pointers to them (valid while `arrays` lives and is not resized).
inline ObservationArrays MakeObservationArrays(int64_t users, int64_t C, int64_t F, int64_t H) {
  ObservationArrays arrays;
  ForEachStateTensor(arrays, [&](const StateTensorSpec& spec, auto& array) {
    int64_t n = 1;
    for (int64_t d : StateShape(spec, {users}, C, F, H)) n *= d;
    array.resize(static_cast<size_t>(n));
  });
  return arrays;
}
inline ObservationBuffers PointersOf(ObservationArrays& arrays) {
  ObservationBuffers out;
  ForEachStateTensor(out, arrays, [](const StateTensorSpec&, auto& pointer, auto& array) {
    pointer = array.data();
  });
  return out;
}

// Features per observation row of the built-in simulator for `topics` topics: F = 2T + 2
// (the row layout is InterestEvolutionSimulator's, actors/sim/interest_evolution.h). Models,
// learners and checks all take F from here.
inline int ObservationFeatures(int topics) { return 2 * topics + 2; }

}  // namespace rlrec::common

#endif  // RLREC_COMMON_DATA_STATE_TENSORS_H_
