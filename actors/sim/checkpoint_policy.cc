#include "actors/sim/checkpoint_policy.h"

#include <torch/torch.h>

#include <cstring>

#include "common/base/error.h"
#include "common/model/checkpoint_file.h"
#include "common/model/policy_model.h"
#include "common/model/torch_views.h"

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
    auto scores = model_->Forward(common::TensorsFromPointers(observation, E, C, F, H)).scores;
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
