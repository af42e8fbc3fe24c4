#ifndef RLREC_LEARNER_LEARNER_SUMMARY_H_
#define RLREC_LEARNER_LEARNER_SUMMARY_H_

#include <cstdint>
#include <string>

namespace rlrec::learner {

// Where the learner is and what it did, as reported at exit.
struct LearnerSummary {
  uint64_t updates = 0;
  uint64_t env_steps = 0;
  uint64_t trajectories = 0;
  uint64_t decode_errors = 0;
  uint64_t snapshot_version = 0;
  std::string stop_reason;
  bool final_checkpoint_written = true;  // false: the lead could not write its last checkpoint
  // The lead's final checkpoint and its update; when it could not be written, the newest
  // checkpoint that remains ("" when none does).
  std::string final_checkpoint;
  uint64_t final_checkpoint_update = 0;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEARNER_SUMMARY_H_
