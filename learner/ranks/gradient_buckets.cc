#include "learner/ranks/gradient_buckets.h"

#include <limits>

namespace rlrec::learner {

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters, size_t bucket_bytes,
                                 const std::vector<torch::Tensor>& sparse_tables)
    : tables_(sparse_tables) {
  // Plan: consecutive parameters share a bucket while it stays within bucket_bytes.
  std::vector<int64_t> sizes;
  std::vector<torch::TensorOptions> options;
  for (const auto& p : parameters) {
    TORCH_CHECK(p.scalar_type() == torch::kFloat, "gradient buckets hold float32 parameters");
    const int64_t n = p.numel();
    const bool fits = !sizes.empty() && options.back().device() == p.device() &&
                      static_cast<size_t>(sizes.back() + n) * sizeof(float) <= bucket_bytes;
    if (!fits) {
      sizes.push_back(0);
      options.push_back(p.options());
    }
    slots_.push_back({p, sizes.size() - 1, sizes.back()});
    sizes.back() += n;
  }
  for (size_t b = 0; b < sizes.size(); ++b) {
    buckets_.push_back(torch::zeros({sizes[b]}, options[b].requires_grad(false)));
  }
  for (const auto& slot : slots_) Bind(slot);
}

void GradientBuckets::Bind(const Slot& slot) {
  slot.parameter.mutable_grad() =
      buckets_[slot.bucket].narrow(0, slot.offset, slot.parameter.numel()).view_as(slot.parameter);
}

void GradientBuckets::ZeroGrad() {
  Fill(0.0);
  ClearTables();
}

void GradientBuckets::Poison() {
  Fill(std::numeric_limits<double>::quiet_NaN());
  ClearTables();
}

void GradientBuckets::Taint(const torch::Tensor& scalar) {
  torch::NoGradGuard no_grad;
  if (buckets_.empty()) return;
  buckets_.front().narrow(0, 0, 1).add_(scalar.detach().to(buckets_.front().options()) * 0);
}

void GradientBuckets::ClearTables() {
  for (auto& table : tables_) table.mutable_grad() = torch::Tensor();
}

void GradientBuckets::CoalesceTables() {
  for (auto& table : tables_) {
    if (table.grad().defined()) table.mutable_grad() = table.grad().coalesce();
  }
}

int64_t GradientBuckets::TouchedRows() const {
  int64_t rows = 0;
  for (const auto& table : tables_) {
    const auto& grad = table.grad();
    if (grad.defined()) rows += grad.is_sparse() ? grad._nnz() : grad.size(0);
  }
  return rows;
}

void GradientBuckets::GatherTable(Collective& collective, torch::Tensor& table) {
  const auto long_options = table.options().dtype(torch::kLong).requires_grad(false);
  const auto value_options = table.options().requires_grad(false);
  torch::Tensor rows = torch::empty({0}, long_options);
  torch::Tensor values = torch::empty({0, table.size(1)}, value_options);
  if (table.grad().defined()) {
    const auto grad = table.grad().coalesce();
    rows = grad.indices().select(0, 0).contiguous();
    values = grad.values().contiguous();
  }
  // How many rows each rank has, then each rank's rows from it, in rank order.
  auto counts = torch::zeros({collective.size()}, value_options);
  counts[collective.rank()] = static_cast<double>(rows.numel());
  collective.AllReduceSum(counts);
  const auto per_rank = counts.to(torch::kCPU).to(torch::kLong);
  std::vector<torch::Tensor> all_rows, all_values;
  for (int r = 0; r < collective.size(); ++r) {
    const int64_t n = per_rank[r].item<int64_t>();
    if (n == 0) continue;
    torch::Tensor r_rows = r == collective.rank() ? rows : torch::empty({n}, long_options);
    torch::Tensor r_values =
        r == collective.rank() ? values : torch::empty({n, table.size(1)}, value_options);
    collective.Broadcast(r_rows, r);
    collective.Broadcast(r_values, r);
    all_rows.push_back(r_rows);
    all_values.push_back(r_values);
  }
  if (all_rows.empty()) {
    table.mutable_grad() = torch::Tensor();
    return;
  }
  table.mutable_grad() = torch::sparse_coo_tensor(torch::cat(all_rows).unsqueeze(0),
                                                  torch::cat(all_values), table.sizes())
                             .coalesce();
}

void GradientBuckets::Fill(double value) {
  for (auto& bucket : buckets_) bucket.fill_(value);
  for (const auto& slot : slots_) {
    const auto& grad = slot.parameter.grad();
    const float* expected = buckets_[slot.bucket].data_ptr<float>() + slot.offset;
    if (!grad.defined() || grad.data_ptr<float>() != expected) Bind(slot);
  }
}

void GradientBuckets::AllReduce(Collective& collective) {
  for (const auto& slot : slots_) {
    const auto& grad = slot.parameter.grad();
    const float* expected = buckets_[slot.bucket].data_ptr<float>() + slot.offset;
    if (grad.defined() && grad.data_ptr<float>() == expected) continue;
    auto view = buckets_[slot.bucket].narrow(0, slot.offset, slot.parameter.numel());
    if (grad.defined()) {
      view.copy_(grad.reshape({-1}));
    } else {
      view.zero_();  // a parameter the loss did not reach
    }
    Bind(slot);
  }
  collective.CheckIn();
  for (auto& bucket : buckets_) collective.AllReduceSum(bucket);
  for (auto& table : tables_) GatherTable(collective, table);
}

size_t GradientBuckets::bytes() const {
  size_t total = 0;
  for (const auto& b : buckets_) total += b.nbytes();
  return total;
}

}  // namespace rlrec::learner
