#include "learner/policy_optimizer.h"

#include <string>

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
  adam_.step();
  torch::NoGradGuard no_grad;
  for (size_t t = 0; t < tables_.size(); ++t) {
    const auto& grad = tables_[t].grad();
    if (!grad.defined()) continue;
    TORCH_CHECK(grad.is_sparse(), "table ", t, " has a dense gradient");
    const auto g = grad.coalesce();
    const auto rows = g.indices().select(0, 0);
    const auto values = g.values();
    if (rows.numel() == 0) continue;
    accumulators_[t].index_add_(0, rows, values.pow(2).mean(1));
    const auto scale = accumulators_[t].index_select(0, rows).sqrt_().add_(1e-10).reciprocal_();
    tables_[t].index_add_(0, rows, values * scale.mul_(-table_learning_rate_).unsqueeze(1));
    changed_[t].index_fill_(0, rows, true);
  }
  return {};
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
  if (tables_.empty()) return adam_.save(archive);
  torch::serialize::OutputArchive adam_archive;
  adam_.save(adam_archive);
  archive.write("adam", adam_archive);
  for (size_t t = 0; t < accumulators_.size(); ++t) {
    archive.write("table_accumulator_" + std::to_string(t), accumulators_[t], /*is_buffer=*/true);
  }
}

void PolicyOptimizer::load(torch::serialize::InputArchive& archive) {
  if (tables_.empty()) return adam_.load(archive);
  torch::serialize::InputArchive adam_archive;
  archive.read("adam", adam_archive);
  std::vector<torch::Tensor> loaded(accumulators_.size());
  for (size_t t = 0; t < accumulators_.size(); ++t) {
    archive.read("table_accumulator_" + std::to_string(t), loaded[t], /*is_buffer=*/true);
    TORCH_CHECK(loaded[t].sizes() == accumulators_[t].sizes(), "table ", t, " accumulator of ",
                loaded[t].sizes(), " for a table of ", tables_[t].size(0), " rows");
  }
  adam_.load(adam_archive);
  torch::NoGradGuard no_grad;
  for (size_t t = 0; t < accumulators_.size(); ++t) accumulators_[t].copy_(loaded[t]);
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
