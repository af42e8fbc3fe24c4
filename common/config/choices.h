#ifndef RLREC_COMMON_CONFIG_CHOICES_H_
#define RLREC_COMMON_CONFIG_CHOICES_H_

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace rlrec::common {

// The values of every configuration key that picks one of a few named options. Each enum's
// names are declared once, in its ChoiceNames specialisation; config files, the command line,
// --help, config.ini and error messages all use them.

// learner.device: where the learner computes.
enum class Device { kCpu, kCuda };
// learner.objective: the training loss.
enum class Objective { kVTrace, kTopKReinforce, kPolicyGradient };
// model.user_encoder: how the policy reads the user's history.
enum class UserEncoder { kPooled, kGru, kTransformer };
// learner.table_optimizer: how the item tables (item-id embeddings and biases) are updated.
enum class TableOptimizer { kAdam, kRowAdagrad };
// learner.precision: the arithmetic of the learner's forward and backward passes.
enum class Precision { kFp32, kBf16 };
// sim.choice: how a simulated user picks an item from a slate.
enum class ChoiceModel { kProportional, kMultinomialLogit };
// transport.security: whether sockets authenticate and encrypt (ZeroMQ CURVE).
enum class Security { kAuto, kCurve, kNone };

// kValues: every value of E with its name, in the order --help lists them.
template <typename E>
struct ChoiceNames;

template <>
struct ChoiceNames<Device> {
  static constexpr std::pair<Device, const char*> kValues[] = {{Device::kCpu, "cpu"},
                                                               {Device::kCuda, "cuda"}};
};
template <>
struct ChoiceNames<Objective> {
  static constexpr std::pair<Objective, const char*> kValues[] = {
      {Objective::kVTrace, "vtrace"},
      {Objective::kTopKReinforce, "topk_reinforce"},
      {Objective::kPolicyGradient, "pg"}};
};
template <>
struct ChoiceNames<UserEncoder> {
  static constexpr std::pair<UserEncoder, const char*> kValues[] = {
      {UserEncoder::kPooled, "pooled"},
      {UserEncoder::kGru, "gru"},
      {UserEncoder::kTransformer, "transformer"}};
};
template <>
struct ChoiceNames<TableOptimizer> {
  static constexpr std::pair<TableOptimizer, const char*> kValues[] = {
      {TableOptimizer::kAdam, "adam"}, {TableOptimizer::kRowAdagrad, "row_adagrad"}};
};
template <>
struct ChoiceNames<Precision> {
  static constexpr std::pair<Precision, const char*> kValues[] = {{Precision::kFp32, "fp32"},
                                                                  {Precision::kBf16, "bf16"}};
};
template <>
struct ChoiceNames<ChoiceModel> {
  static constexpr std::pair<ChoiceModel, const char*> kValues[] = {
      {ChoiceModel::kProportional, "proportional"}, {ChoiceModel::kMultinomialLogit, "mnl"}};
};

template <>
struct ChoiceNames<Security> {
  static constexpr std::pair<Security, const char*> kValues[] = {
      {Security::kAuto, "auto"}, {Security::kCurve, "curve"}, {Security::kNone, "none"}};
};

// The name of `value` ("vtrace").
template <typename E>
const char* ChoiceName(E value) {
  for (const auto& [v, name] : ChoiceNames<E>::kValues) {
    if (v == value) return name;
  }
  return "?";
}

// The value named `name`, or nullopt when no value has that name.
template <typename E>
std::optional<E> ParseChoice(std::string_view name) {
  for (const auto& [v, n] : ChoiceNames<E>::kValues) {
    if (name == n) return v;
  }
  return std::nullopt;
}

// Every name, comma-separated in declaration order ("vtrace, topk_reinforce, pg").
template <typename E>
std::string ChoiceList() {
  std::string out;
  for (const auto& [v, name] : ChoiceNames<E>::kValues) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Writes the value's name (for logs, and for tests that print values).
template <typename E, typename = decltype(ChoiceNames<E>::kValues)>
std::ostream& operator<<(std::ostream& out, E value) {
  return out << ChoiceName(value);
}

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CONFIG_CHOICES_H_
