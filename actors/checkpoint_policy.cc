#include "actors/checkpoint_policy.h"

#include <torch/torch.h>

#include <cstring>

#include "common/checkpoint_file.h"
#include "common/error.h"
#include "common/policy_model.h"

namespace rlrec::actors {
namespace {

class CheckpointPolicy : public SlatePolicy {
 public:
  explicit CheckpointPolicy(common::PolicyModel model) : model_(std::move(model)) {
    model_->eval();
  }
  bool needs_observations() const override { return true; }
  void Choose(const InterestEvolutionSimulator& sim, const ObservationBuffers& observation, int k,
              int32_t* slates) override {
    torch::NoGradGuard no_grad;
    const int64_t E = sim.num_users(), C = sim.num_candidates(), F = sim.feature_dim();
    const int64_t H = sim.history_length();
    common::PolicyInput input{torch::from_blob(observation.features, {E, C + 1, F}),
                              torch::from_blob(observation.candidate_items, {E, C}, torch::kInt64),
                              torch::from_blob(observation.history_items, {E, H}, torch::kInt64),
                              torch::from_blob(observation.history_topics, {E, H}, torch::kInt32),
                              torch::from_blob(observation.history_responses, {E, H})};
    auto scores = model_->Forward(input).scores;
    auto top = std::get<1>(torch::topk(scores, k, /*dim=*/1)).to(torch::kInt32).contiguous();
    std::memcpy(slates, top.data_ptr<int32_t>(), sizeof(int32_t) * E * k);
  }

 private:
  common::PolicyModel model_;
};

}  // namespace

std::unique_ptr<SlatePolicy> LoadCheckpointPolicy(const std::string& path,
                                                  const common::RunConfig& config) {
  common::PolicyModel model(common::ModelOptions(config));
  torch::serialize::InputArchive archive;
  try {
    common::ReadCheckpointModel(path, *model, &archive);  // verified file, checked shapes
  } catch (const common::Error& e) {
    throw common::InvalidInput(std::string("cannot load a policy from ") + e.what());
  }
  return std::make_unique<CheckpointPolicy>(std::move(model));
}

}  // namespace rlrec::actors
