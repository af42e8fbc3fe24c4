#ifndef RLREC_TESTS_TABLE_SNAPSHOTS_H_
#define RLREC_TESTS_TABLE_SNAPSHOTS_H_

// Snapshots of a small model with a sparse table, and waits, for the tests of the weights'
// publisher (learner) and its subscribers (actors).

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/base/deadline.h"
#include "common/data/snapshot_blob.h"
#include "learner/weight_publisher.h"

namespace rlrec::testing {

// A snapshot of run "run" at `version`: one tensor "w" of `floats` floats, every byte
// `version` (mod 256).
std::shared_ptr<common::SnapshotBlob> FlatBlob(uint64_t version, size_t floats);

// A model with a sparse table: a dense vector of 4 floats, a table of 100 rows x 4 floats.
// Version 1 is all zeros but the dense vector (1); each later version v sets the dense vector
// to v and row 7v mod 100 to v: TableDelta(v) says exactly that, on version v - 1.
std::shared_ptr<common::SnapshotBlob> TableState(uint64_t version);
std::shared_ptr<common::SnapshotBlob> TableDelta(uint64_t version);

// Waits up to `timeout_s` for `done`.
template <typename F>
bool WaitFor(F done, double timeout_s = 10) {
  const auto deadline = common::After(timeout_s);
  while (!done()) {
    if (common::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Waits (up to 10 s, re-publishing as due) for `publisher` to see a subscription.
bool WaitForSubscription(learner::WeightPublisher& publisher);

}  // namespace rlrec::testing

#endif  // RLREC_TESTS_TABLE_SNAPSHOTS_H_
