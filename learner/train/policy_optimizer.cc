#include "learner/train/policy_optimizer.h"

#include <algorithm>
#include <string>
#include <tuple>

namespace rlrec::learner {
namespace {

std::vector<torch::optim::OptimizerParamGroup> Groups(const std::vector<torch::Tensor>& dense,
                                                      const std::vector<torch::Tensor>& tables) {
  std::vector<torch::Tensor> all = dense;
  all.insert(all.end(), tables.begin(), tables.end());
  return {torch::optim::OptimizerParamGroup(all)};
}

}  // namespace

PolicyOptimizer::PolicyOptimizer(const std::vector<torch::Tensor>& dense,
                                 const std::vector<torch::Tensor>& sparse_tables,
                                 double learning_rate, double table_learning_rate)
    : torch::optim::Optimizer(Groups(dense, sparse_tables),
                              std::make_unique<torch::optim::AdamOptions>(learning_rate)),
      adam_(dense, torch::optim::AdamOptions(learning_rate)),
      tables_(sparse_tables),
      table_learning_rate_(table_learning_rate) {
  for (const auto& table : tables_) {
    TORCH_CHECK(table.dim() == 2, "a sparse table is 2-D, got ", table.sizes());
    accumulators_.push_back(
        torch::full({table.size(0)}, kInitialAccumulator, table.options().requires_grad(false)));
    changed_.push_back(torch::zeros({table.size(0)}, table.options().dtype(torch::kBool)));
  }
}

torch::Tensor PolicyOptimizer::step(LossClosure) {
  const auto& params = adam_.param_groups().at(0).params();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  StepIf(torch::ones({}, torch::TensorOptions().dtype(torch::kBool).device(device)));
  return {};
}

torch::optim::AdamParamState& PolicyOptimizer::AdamState(const torch::Tensor& p) {
  auto& slot = adam_.state()[c10::guts::to_string(p.unsafeGetTensorImpl())];
  if (!slot) {
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(0);  // the count is steps_ (save() writes it here)
    state->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    state->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    slot = std::move(state);
  }
  return static_cast<torch::optim::AdamParamState&>(*slot);
}

void PolicyOptimizer::AdamStep(const torch::Tensor& on) {
  const auto& group = adam_.param_groups().at(0);
  const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
  TORCH_CHECK(!o.amsgrad() && o.weight_decay() == 0, "PolicyOptimizer: plain Adam only");
  const double b1 = std::get<0>(o.betas()), b2 = std::get<1>(o.betas());
  if (group.params().empty()) return;
  if (!steps_.defined() || steps_.device() != on.device()) {
    steps_ = torch::zeros({}, on.options().dtype(torch::kFloat64));
  }
  // As torch::optim::Adam, with every factor a scalar on the device: 0 where not taken.
  steps_.add_(on);
  const auto t = steps_.clamp_min(1);  // a first step not taken: no 1 - b^0 = 0 to divide by
  const auto bias_correction1 = 1 - torch::pow(b1, t);
  const auto bias_correction2_sqrt = (1 - torch::pow(b2, t)).sqrt();
  const auto keep1 = 1 - on * (1 - b1), add1 = on * (1 - b1);
  const auto keep2 = 1 - on * (1 - b2), add2 = on * (1 - b2);
  const auto step_size = on * o.lr() / bias_correction1;
  for (const auto& p : group.params()) {
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    auto& state = AdamState(p);
    auto& exp_avg = state.exp_avg();
    auto& exp_avg_sq = state.exp_avg_sq();
    exp_avg.mul_(keep1).addcmul_(grad, add1);
    exp_avg_sq.mul_(keep2).addcmul_(grad * add2, grad);
    const auto denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(o.eps());
    p.sub_(exp_avg / denom * step_size);
  }
}

void PolicyOptimizer::StepIf(const torch::Tensor& take) {
  torch::NoGradGuard no_grad;
  const auto on = take.to(torch::kFloat64);
  AdamStep(on);
  for (size_t t = 0; t < tables_.size(); ++t) {
    const auto& grad = tables_[t].grad();
    if (!grad.defined()) continue;
    TORCH_CHECK(grad.is_sparse(), "table ", t, " has a dense gradient");
    const auto g = grad.coalesce();
    const auto rows = g.indices().select(0, 0);
    const auto values = g.values() * on.to(g.values().scalar_type());
    if (rows.numel() == 0) continue;
    accumulators_[t].index_add_(0, rows, values.pow(2).mean(1));
    const auto scale = accumulators_[t].index_select(0, rows).sqrt_().add_(1e-10).reciprocal_();
    tables_[t].index_add_(0, rows, values * scale.mul_(-table_learning_rate_).unsqueeze(1));
    changed_[t].index_fill_(0, rows, true);
  }
}

std::vector<torch::Tensor> PolicyOptimizer::TakeChangedRows() {
  std::vector<torch::Tensor> rows;
  for (auto& changed : changed_) {
    rows.push_back(changed.nonzero().select(1, 0));  // ascending
    changed.index_fill_(0, rows.back(), false);
  }
  return rows;
}

void PolicyOptimizer::save(torch::serialize::OutputArchive& archive) const {
  // Adam's archive keeps a step count per parameter: the one on the device.
  const int64_t steps = steps_.defined() ? steps_.item<int64_t>() : 0;
  for (const auto& entry : adam_.state()) {
    static_cast<torch::optim::AdamParamState&>(*entry.second).step(steps);
  }
  if (tables_.empty()) return adam_.save(archive);
  torch::serialize::OutputArchive adam_archive;
  adam_.save(adam_archive);
  archive.write("adam", adam_archive);
  for (size_t t = 0; t < accumulators_.size(); ++t) {
    archive.write("table_accumulator_" + std::to_string(t), accumulators_[t], /*is_buffer=*/true);
  }
}

void PolicyOptimizer::load(torch::serialize::InputArchive& archive) {
  if (tables_.empty()) {
    adam_.load(archive);
    return LoadSteps();
  }
  torch::serialize::InputArchive adam_archive;
  archive.read("adam", adam_archive);
  std::vector<torch::Tensor> loaded(accumulators_.size());
  for (size_t t = 0; t < accumulators_.size(); ++t) {
    archive.read("table_accumulator_" + std::to_string(t), loaded[t], /*is_buffer=*/true);
    TORCH_CHECK(loaded[t].sizes() == accumulators_[t].sizes(), "table ", t, " accumulator of ",
                loaded[t].sizes(), " for a table of ", tables_[t].size(0), " rows");
  }
  adam_.load(adam_archive);
  LoadSteps();
  torch::NoGradGuard no_grad;
  for (size_t t = 0; t < accumulators_.size(); ++t) accumulators_[t].copy_(loaded[t]);
}

void PolicyOptimizer::LoadSteps() {
  int64_t steps = 0;
  for (const auto& entry : adam_.state()) {
    steps = std::max(steps, static_cast<torch::optim::AdamParamState&>(*entry.second).step());
  }
  const auto& params = adam_.param_groups().at(0).params();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  steps_ =
      torch::full({}, double(steps), torch::TensorOptions().dtype(torch::kFloat64).device(device));
}

size_t PolicyOptimizer::StateBytes() const {
  size_t bytes = 0;
  for (const auto& group : adam_.param_groups()) {
    for (const auto& p : group.params()) bytes += 2 * p.nbytes();
  }
  for (const auto& a : accumulators_) bytes += a.nbytes();
  return bytes;
}

}  // namespace rlrec::learner
