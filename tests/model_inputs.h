#ifndef RLREC_TESTS_MODEL_INPUTS_H_
#define RLREC_TESTS_MODEL_INPUTS_H_

#include <torch/torch.h>

#include "common/model/policy_model.h"
#include "learner/train/batch.h"

namespace rlrec::testing {

// Model options for small test models: `feature_dim` features, `hidden` wide, ids of
// `item_buckets` items and `topics` topics, the given history encoder.
common::PolicyModelOptions SmallModel(int feature_dim, int hidden, int item_buckets = 0,
                                      int topics = 0,
                                      common::UserEncoder encoder = common::UserEncoder::kPooled);

// Random input for N states with C candidates and H history entries: features ~ N(0, 1),
// item ids in [0, items), topics in [0, topics), responses in [0, 3); with `items` = 0, every
// id is -1 (no stable ids). The first `filled` history entries are set, the rest empty.
common::PolicyInput RandomInput(int64_t N, int64_t C, int64_t F, int64_t H, int64_t items,
                                int64_t topics, int64_t filled);

// Input for N states from formulas alone (no random numbers), the same as
// tests/serving/check_export.py builds in Python: features sin(0.37 i), candidate ids 7i mod
// items, history ids 3i mod items and topics i mod topics in the newer half, responses
// 0.5 (i mod 5).
common::PolicyInput FormulaInput(int64_t N, int64_t C, int64_t F, int64_t H, int64_t items,
                                 int64_t topics);

// A deep copy of `input` (copying the struct shares the tensors).
common::PolicyInput Clone(const common::PolicyInput& input);

// States of the feature rows `features` ([lead..., 1 + C, F]) with no ids and an empty
// history, for tests of losses that only read the feature rows.
common::TorchStates NoIds(torch::Tensor features, int64_t C);

// A random batch drawn from `seed` alone: T steps of N users, C candidates, F features,
// K-item slates, H history entries (the newer half filled) over `items` items and `topics`
// topics, rewards in [0, 5), about one session in ten ending per step.
learner::Batch RandomBatch(int64_t T, int64_t N, int64_t C, int64_t F, int64_t K, int64_t H,
                           int64_t items, int64_t topics, uint64_t seed);

// Rewrites `batch`'s histories the way an unroll's are: each step's is the step before's with
// one new entry in front (the first step's holds only its newest entry), and the bootstrap
// state's follows the last step's.
void ShiftHistories(learner::Batch* batch);

// `batches` side by side along the user dimension, the way MakeBatch stacks trajectories.
learner::Batch ConcatUsers(const std::vector<learner::Batch>& batches);

}  // namespace rlrec::testing

#endif  // RLREC_TESTS_MODEL_INPUTS_H_
