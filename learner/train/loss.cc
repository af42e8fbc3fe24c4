#include "learner/train/loss.h"

namespace rlrec::learner {

LossOptions::LossOptions() : LossOptions(common::RunConfig()) {}

LossOptions::LossOptions(const common::RunConfig& config)
    : objective(config.learner.objective),
      discount(config.learner.discount),
      value_coef(config.learner.value_coef),
      entropy_coef(config.learner.entropy_coef),
      temperature(config.model.temperature),
      rho_bar(config.learner.rho_bar),
      c_bar(config.learner.c_bar),
      importance_cap(config.learner.importance_cap),
      max_grad_norm(config.learner.max_grad_norm),
      autocast_bf16(config.learner.precision == common::Precision::kBf16 &&
                    config.learner.device == common::Device::kCuda) {}

torch::Tensor DiscountedReturns(const torch::Tensor& rewards, const torch::Tensor& dones,
                                const torch::Tensor& bootstrap_values, double discount) {
  torch::NoGradGuard no_grad;
  const int64_t T = rewards.size(0);
  auto returns = torch::empty_like(rewards);
  auto next = bootstrap_values.detach();
  for (int64_t t = T - 1; t >= 0; --t) {
    next = rewards[t] + discount * (1.0 - dones[t]) * next;
    returns[t] = next;
  }
  return returns;
}

torch::Tensor EncodeDistinctHistory(common::PolicyModel& model, const Batch& batch,
                                    const common::PolicyInput& input) {
  auto transformer = model->history_transformer();
  const auto tokens = model->HistoryTokens(batch.distinct_items, batch.distinct_topics,
                                           batch.distinct_responses);  // [U, D]
  const auto distinct_kv = transformer->KeysValues(tokens);            // [U, L, 2, D]
  const int64_t R = batch.token_of.size(0), H = batch.token_of.size(1);
  std::vector<int64_t> shape{R, H};
  for (int64_t d = 1; d < distinct_kv.dim(); ++d) shape.push_back(distinct_kv.size(d));
  const auto kv = distinct_kv.index_select(0, batch.token_of.reshape({-1})).view(shape);
  const auto ages =
      torch::arange(H, batch.token_of.options().dtype(torch::kLong)).unsqueeze(0).expand({R, H});
  return transformer->Attend(kv, ages, input.history_topics >= 0);
}

BatchForward ForwardBatch(common::PolicyModel& model, const Batch& batch, double temperature) {
  const int64_t T = batch.unroll(), N = batch.users();
  const common::PolicyInput input = AllStates(batch);
  auto out = batch.token_of.defined() && model->history_transformer()
                 ? model->ForwardWithHistory(input, EncodeDistinctHistory(model, batch, input))
                 : model->Forward(input);
  BatchForward f;
  f.scores = out.scores.narrow(0, 0, T * N);
  f.values = out.values.narrow(0, 0, T * N).view({T, N});
  f.bootstrap_values = out.values.narrow(0, T * N, N);
  f.log_probs =
      common::SlateLogProb(f.scores, batch.slates.reshape({T * N, -1}), temperature).view({T, N});
  f.entropy = common::FirstChoiceEntropy(f.scores, temperature).mean();
  return f;
}

LossTerms CombineLoss(const torch::Tensor& policy_loss, const torch::Tensor& value_loss,
                      const BatchForward& forward, const LossOptions& options,
                      const torch::Tensor& mean_rho) {
  LossTerms terms;
  terms.total =
      policy_loss + options.value_coef * value_loss - options.entropy_coef * forward.entropy;
  torch::NoGradGuard no_grad;
  const auto scalar = [](const torch::Tensor& x) { return x.detach().to(torch::kFloat32); };
  terms.values = torch::stack(
      {scalar(terms.total), scalar(policy_loss), scalar(value_loss), scalar(forward.entropy),
       scalar(forward.values.mean()),
       mean_rho.defined() ? scalar(mean_rho)
                          : torch::zeros({}, terms.total.options().dtype(torch::kFloat32))});
  return terms;
}

LossValues LossTerms::Read(const torch::Tensor& values) {
  const auto host = values.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = host.data_ptr<double>();
  LossValues out;
  out.total = v[kTotal];
  out.policy_loss = v[kPolicy];
  out.value_loss = v[kValue];
  out.entropy = v[kEntropy];
  out.mean_value = v[kMeanValue];
  out.mean_rho = v[kMeanRho];
  return out;
}

}  // namespace rlrec::learner
