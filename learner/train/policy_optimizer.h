#ifndef RLREC_LEARNER_TRAIN_POLICY_OPTIMIZER_H_
#define RLREC_LEARNER_TRAIN_POLICY_OPTIMIZER_H_

#include <torch/torch.h>

#include <vector>

namespace rlrec::learner {

// The optimiser of the policy: Adam on the dense parameters and, for sparse item tables
// (learner.table_optimizer = row_adagrad), row-wise Adagrad on the rows their sparse gradients
// touch. Row-wise Adagrad keeps one float per row, the running sum of the row's mean squared
// gradient (from kInitialAccumulator), and moves a row by
// -table_learning_rate * g / (sqrt(sum) + 1e-10): a step costs what the batch touched, never
// what the table holds. Without sparse tables it steps as torch::optim::Adam does (its own
// loop, so that a step can be skipped on the device: StepIf) and saves and loads the same
// archive. Not thread-safe.
class PolicyOptimizer : public torch::optim::Optimizer {
 public:
  static constexpr double kInitialAccumulator = 0.1;

  // `dense` get Adam at `learning_rate`; `sparse_tables` (2-D, their gradients sparse COO or
  // undefined) get row-wise Adagrad at `table_learning_rate`.
  PolicyOptimizer(const std::vector<torch::Tensor>& dense,
                  const std::vector<torch::Tensor>& sparse_tables, double learning_rate,
                  double table_learning_rate);

  // One step of both optimisers on the gradients as they stand. Returns an undefined tensor.
  torch::Tensor step(LossClosure closure = nullptr) override;
  // The same where `take` (a bool scalar on the parameters' device) is true; where it is false
  // nothing moves: no parameter, moment, accumulator or step count. The gradients must be
  // finite (GuardedUpdate zeroes them when they are not). Queues its work on the device
  // without waiting for it: the step count lives there, and only save() reads it.
  void StepIf(const torch::Tensor& take);
  void save(torch::serialize::OutputArchive& archive) const override;
  // Throws c10::Error when the archive lacks a table's state or holds one of another size.
  void load(torch::serialize::InputArchive& archive) override;

  // Bytes of optimiser state: Adam's two moments and the tables' accumulators.
  size_t StateBytes() const;

  // Per sparse table, the ids (int64, ascending) of the rows that steps changed since the
  // previous call (or since construction), for delta snapshots; marks them unchanged again.
  std::vector<torch::Tensor> TakeChangedRows();

 private:
  // Adam's step on the dense parameters, scaled by `on` (float64 scalar, 1 or 0).
  void AdamStep(const torch::Tensor& on);
  // steps_ from the step count of the Adam state just loaded.
  void LoadSteps();
  // Adam's moments of `p`, made (zero) on its first step.
  torch::optim::AdamParamState& AdamState(const torch::Tensor& p);

  torch::optim::Adam adam_;  // the dense parameters, their options and state (the archive)
  torch::Tensor steps_;      // float64 scalar on the dense parameters' device: Adam's steps
  std::vector<torch::Tensor> tables_;
  std::vector<torch::Tensor> accumulators_;  // [rows] per table
  std::vector<torch::Tensor> changed_;       // [rows] bool per table: moved since TakeChangedRows
  double table_learning_rate_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_TRAIN_POLICY_OPTIMIZER_H_
