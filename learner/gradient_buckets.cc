#include "learner/gradient_buckets.h"

#include <limits>

namespace rlrec::learner {

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters,
                                 size_t bucket_bytes) {
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

void GradientBuckets::ZeroGrad() { Fill(0.0); }

void GradientBuckets::Poison() { Fill(std::numeric_limits<double>::quiet_NaN()); }

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
}

size_t GradientBuckets::bytes() const {
  size_t total = 0;
  for (const auto& b : buckets_) total += b.nbytes();
  return total;
}

}  // namespace rlrec::learner
