#ifndef RLREC_LEARNER_ACTOR_HEALTH_H_
#define RLREC_LEARNER_ACTOR_HEALTH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/control.h"
#include "common/deadline.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace rlrec::learner {

// One actor as the lead knows it from its reports.
struct ActorState {
  common::ActorReport last;
  // Over the two newest reports (or since the actor joined, after its first): env steps per
  // second and the shares of its time in each phase; lag = the lead's version minus the
  // actor's when it reported.
  double env_steps_per_s = 0;
  double simulate_share = 0, infer_share = 0, encode_share = 0, send_blocked_share = 0;
  double infer_ms_per_unroll = 0;
  uint64_t lag = 0;
  common::Clock::time_point last_seen;
  double last_seen_unix = 0;  // seconds since the Unix epoch
  bool lost = false;          // silent for longer than run.actor_timeout_s
  bool left = false;          // said it was stopping
};

// The actors together, as of a report.
struct ActorsSummary {
  uint64_t alive = 0;      // reported within the timeout and not leaving
  uint64_t lost = 0;       // silent past the timeout now (and not leaving)
  uint64_t lost_ever = 0;  // times an actor was declared lost
  // Means over the alive actors (NaN when none has reported): the shares of their time.
  double simulate_share = 0, infer_share = 0, encode_share = 0, send_blocked_share = 0;
  double env_steps_per_s = 0;  // summed over the alive actors
};

// The lead learner's view of its actors' health: each report updates one actor and appends
// its row to actors.jsonl; an actor silent for `timeout_s` is logged as lost once (and as
// back if it reports again). Not thread-safe: the learner's main loop owns it.
class ActorHealth {
 public:
  // Rows go to `actors_path` (appended; none when empty). Once the file holds more than
  // `rotate_bytes` (0: no limit) it is renamed to `actors_path` + ".1", replacing the one
  // before, and a new file starts, so the two hold at most about twice that. Throws
  // Error(kUnavailable) when the file cannot be opened.
  ActorHealth(const std::string& actors_path, double timeout_s, uint64_t rotate_bytes = 0);

  // Takes `report`, received at `now` while the lead's newest snapshot was `latest_version`,
  // and writes its row (a row that cannot be written is logged and lost).
  void Add(const common::ActorReport& report, uint64_t latest_version,
           common::Clock::time_point now);

  // Declares the actors silent past the timeout at `now` lost (logged, and a row with state
  // "lost"), and sums up every actor.
  ActorsSummary Check(common::Clock::time_point now);

  const std::map<uint32_t, ActorState>& actors() const { return actors_; }

 private:
  void WriteRow(const ActorState& actor, const char* state);
  // Moves a full actors.jsonl aside; the next row starts a new one. A failure is logged and the
  // rows go on into the file there is.
  void Rotate();

  const double timeout_s_;
  const std::string path_;
  const uint64_t rotate_bytes_;
  uint64_t bytes_ = 0;  // in the current file
  std::unique_ptr<common::MetricsWriter> rows_;
  std::map<uint32_t, ActorState> actors_;
  uint64_t lost_ever_ = 0;
  uint64_t lost_rows_ = 0;
  common::LogLimiter write_log_, lost_log_, rotate_log_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_ACTOR_HEALTH_H_
