#ifndef RLREC_LEARNER_LEAD_SERVER_H_
#define RLREC_LEARNER_LEAD_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "common/run/run_folder.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/control.h"
#include "common/wire/weights_codec.h"
#include "learner/endpoints.h"
#include "learner/report/actor_health.h"
#include "learner/train/checkpoint.h"
#include "learner/weight_publisher.h"

namespace rlrec::learner {

// What the lead learner serves to actors: the control endpoint (a hello is answered with the
// run's id, every rank's trajectory endpoint and the weights endpoint) and the weight
// snapshots; and the run-folder files that say where to find them (the ports file and the
// control endpoint file). Not thread-safe: the learner's main loop owns it.
class LeadServer {
 public:
  // Binds the control and weights sockets on transport.host at `ports` (0: free ones),
  // publishes `first`, then writes run_dir's ports file (these ports and every rank's
  // trajectory port, from `trajectory_endpoints`) and, last, its control endpoint file: a
  // launcher that sees that file can start actors. Actor reports go to run_dir's actors.jsonl,
  // moved aside past `actors_log_bytes` (0: never); an actor silent for `actor_timeout_s` is
  // lost (ActorHealth). `context` must outlive this object.
  LeadServer(const common::ZmqContext& context, const common::RunConfig::Transport& transport,
             const common::RunDir& run_dir, const LearnerPorts& ports,
             std::vector<std::string> trajectory_endpoints,
             std::shared_ptr<const common::SnapshotBlob> first,
             const common::SocketSecurity& security = {}, double actor_timeout_s = 30,
             uint64_t actors_log_bytes = 0);

  // Answers every waiting control request (reporting `counters`), takes the actors' reports
  // into health(), and re-publishes the latest snapshot when due. Never blocks; call it often.
  void Serve(const TrainingCounters& counters);
  // The actors as their reports tell.
  ActorHealth& health() { return health_; }
  // Publishes the next version, full or a delta as due (WeightPublisher::PublishVersion);
  // joining actors get the latest full one and the deltas since.
  void PublishVersion(bool full_due, const WeightPublisher::SnapshotMaker& make) {
    publisher_.PublishVersion(full_due, make);
  }
  // Tells subscribers the run ended with `reason`, a few times over about 0.3 s while still
  // answering control (PUB is fire-and-forget and actors may be mid-unroll), then removes the
  // control endpoint file: the endpoint means nothing once this learner is gone.
  void EndRun(const std::string& reason);

  // Endpoints as actors reach them.
  const std::string& control_endpoint() const { return control_endpoint_; }
  const std::string& weights_endpoint() const { return info_.weights_endpoint; }
  // Distinct actors admitted in this run (ActorHealth: the lead took trajectories of theirs).
  size_t actors_seen() const { return health_.admitted().size(); }

 private:
  // Hands the reports the control server accepted to health_.
  void TakeReports();

  WeightPublisher publisher_;
  common::ControlServer control_;
  common::RunDir run_dir_;
  ActorHealth health_;
  common::LearnerInfo info_;
  std::string control_endpoint_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_LEAD_SERVER_H_
