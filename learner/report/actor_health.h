#ifndef RLREC_LEARNER_REPORT_ACTOR_HEALTH_H_
#define RLREC_LEARNER_REPORT_ACTOR_HEALTH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/base/deadline.h"
#include "common/base/json.h"
#include "common/base/logging.h"
#include "common/wire/control.h"

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
// back if it reports again), and forgotten once it has been silent for kForgetAfterTimeouts
// times that.
//
// Admission. Hellos and reports come over the control channel, which anyone who can connect
// may use; trajectories that pass the run's contract are what a real actor sends. So an actor
// id counts (in admitted(), the run's `actors_seen`, and in the summary) only once the lead
// has taken a trajectory of it (Admit). A report of an id not admitted yet is held, at most
// kMaxHeld of them for at most the timeout, and taken when the id is admitted; a report whose
// numbers are impossible (more than kMaxEnvStepsPerS env steps a second) is refused. Not
// thread-safe: the learner's main loop owns it.
class ActorHealth {
 public:
  static constexpr double kForgetAfterTimeouts = 10;
  static constexpr size_t kMaxHeld = 4096;
  static constexpr double kMaxEnvStepsPerS = 1e9;

  // Rows go to `actors_path` (appended; none when empty). Once the file holds more than
  // `rotate_bytes` (0: no limit) it is renamed to `actors_path` + ".1", replacing the one
  // before, and a new file starts, so the two hold at most about twice that. Throws
  // Error(kUnavailable) when the file cannot be opened.
  ActorHealth(const std::string& actors_path, double timeout_s, uint64_t rotate_bytes = 0);

  // Takes `report`, received at `now` while the lead's newest snapshot was `latest_version`,
  // and writes its row (a row that cannot be written is logged and lost); holds it instead when
  // its actor is not admitted yet. Returns false, saying why in the log, for a refused report.
  bool Add(const common::ActorReport& report, uint64_t latest_version,
           common::Clock::time_point now);

  // Admits the actors of `ids` (ids of trajectories the lead took), taking a report held for
  // one, as received then.
  void Admit(const std::vector<uint32_t>& ids);
  // The actor ids admitted in this run (across resumes: Restore).
  const std::set<uint32_t>& admitted() const { return admitted_; }
  // Admits `ids` as a resumed run's earlier ones, reported by none yet.
  void Restore(const std::vector<uint32_t>& ids);
  // Reports refused for impossible numbers, and held reports dropped (overflow or age).
  uint64_t refused() const { return refused_; }
  uint64_t held_dropped() const { return held_dropped_; }

  // Declares the actors silent past the timeout at `now` lost (logged, and a row with state
  // "lost"), and sums up every actor.
  ActorsSummary Check(common::Clock::time_point now);

  const std::map<uint32_t, ActorState>& actors() const { return actors_; }

 private:
  struct Held {
    common::ActorReport report;
    uint64_t latest_version = 0;
    common::Clock::time_point received;
  };

  void WriteRow(const ActorState& actor, const char* state);
  // Takes a report of an admitted actor.
  bool Take(const common::ActorReport& report, uint64_t latest_version,
            common::Clock::time_point now);
  // Moves a full actors.jsonl aside; the next row starts a new one. A failure is logged and the
  // rows go on into the file there is.
  void Rotate();

  const double timeout_s_;
  const std::string path_;
  const uint64_t rotate_bytes_;
  uint64_t bytes_ = 0;  // in the current file
  std::unique_ptr<common::MetricsWriter> rows_;
  std::map<uint32_t, ActorState> actors_;
  std::set<uint32_t> admitted_;
  std::map<uint32_t, Held> held_;  // reports of actors not admitted yet
  uint64_t refused_ = 0, held_dropped_ = 0;
  uint64_t lost_ever_ = 0;
  uint64_t lost_rows_ = 0;
  common::LogLimiter write_log_, lost_log_, rotate_log_, refuse_log_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_REPORT_ACTOR_HEALTH_H_
