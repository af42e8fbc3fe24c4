#ifndef RLREC_COMMON_WIRE_CONTROL_H_
#define RLREC_COMMON_WIRE_CONTROL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/transport/curve.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/protocol.h"

namespace rlrec::common {

// What the lead learner tells actors (and anyone asking for status).
struct LearnerInfo {
  std::string run_id;
  std::vector<std::string> trajectory_endpoints;  // one PULL endpoint per learner rank
  std::string weights_endpoint;                   // the lead's PUB endpoint
  uint64_t latest_version = 0;
  uint64_t updates = 0;
  uint64_t env_steps = 0;
};

// What an actor tells the lead every run.report_every_s (wire::ActorReport): totals since it
// joined, from which the lead takes rates and shares.
struct ActorReport {
  uint32_t actor_id = 0;
  std::string host;
  uint32_t pid = 0;
  double uptime_s = 0;
  uint64_t env_steps = 0, unrolls = 0, snapshot_version = 0;
  double simulate_s = 0, infer_s = 0, encode_s = 0, send_blocked_s = 0;
  bool leaving = false;  // the actor is stopping
};

// The control request carrying `report`.
OutgoingMessage EncodeActorReport(const ActorReport& report,
                                  uint32_t protocol_version = kProtocolVersion);

// Sends actor reports to the lead over the control channel without waiting for answers, so
// that an actor never stalls on a busy learner: a report goes out only when the previous one
// was answered; one unanswered for `timeout_s` is given up and the socket replaced (a REQ
// socket cannot send twice in a row). Not thread-safe.
class ActorReporter {
 public:
  ActorReporter(const ZmqContext& context, std::string endpoint, double timeout_s,
                SocketSecurity security = {});
  // Sends `report` if nothing is waiting for an answer (collecting an answer that arrived);
  // returns whether it went out.
  bool Post(const ActorReport& report);
  // Sends `report` and waits for its answer until `deadline` (an actor's last report).
  // Returns whether it was answered.
  bool PostAndWait(const ActorReport& report, Deadline deadline);
  uint64_t answered() const { return answered_; }
  uint64_t refused() const { return refused_; }
  // The learner's newest snapshot version, as its latest answer said (0 before one).
  uint64_t learner_version() const { return learner_version_; }

 private:
  // Collects the pending answer, if one arrived before `deadline`; replaces the socket once
  // the answer is overdue. True when nothing is pending any more.
  bool Collect(Deadline deadline);
  void Reconnect();

  const ZmqContext& context_;
  std::string endpoint_;
  double timeout_s_;
  SocketSecurity security_;
  std::unique_ptr<ZmqSocket> socket_;
  bool pending_ = false;
  Clock::time_point sent_at_;
  uint64_t answered_ = 0, refused_ = 0;
  uint64_t learner_version_ = 0;
};

// Client side of the control channel (REQ). Each request has a deadline; an unanswered
// request is retried on a fresh socket (a REQ socket cannot send twice in a row), up to
// `retries` more times. Not thread-safe.
class ControlClient {
 public:
  // With `security`, every request goes over CURVE with the run's client keys.
  ControlClient(const ZmqContext& context, std::string endpoint, double timeout_s, int retries,
                SocketSecurity security = {});

  // Introduces actor `actor_id` and returns the learner's endpoints. Throws
  // Error(kInvalidInput) with the learner's reason if it refuses (for example a protocol
  // version mismatch), or saying so when the learner's socket refused this process's CURVE
  // keys or the handshake failed (security on one side only, a wrong server key);
  // Error(kTimeout) when no answer came after every retry, saying whether anything accepted a
  // connection.
  LearnerInfo Hello(uint32_t actor_id, uint32_t protocol_version = kProtocolVersion);

  // Asks for the learner's counters. Errors as for Hello.
  LearnerInfo Status();

 private:
  std::unique_ptr<Multipart> Request(const OutgoingMessage& request, const char* what);

  const ZmqContext& context_;
  std::string endpoint_;
  double timeout_s_;
  int retries_;
  SocketSecurity security_;
};

// Actor ids lie below this: a hello with a larger id is refused.
inline constexpr uint32_t kMaxActorId = 1u << 20;

// Reads the reply to a hello. Throws Error(kInvalidInput) with `refused` and the learner's
// reason for a refusal, or saying what is wrong with a malformed reply.
LearnerInfo DecodeWelcome(std::shared_ptr<const Multipart> reply, const std::string& refused);

// Server side of the control channel (REP), owned by the lead learner's main loop.
// Not thread-safe.
class ControlServer {
 public:
  // Binds `endpoint` (port "*" picks a free one).
  // With `security`, a CURVE server that only the run's clients reach (ZapHandler).
  ControlServer(const ZmqContext& context, const std::string& endpoint,
                const SocketSecurity& security = {});

  // The endpoint actually bound.
  const std::string& endpoint() const { return endpoint_; }

  // Answers every request that is waiting, or that arrives before `deadline`, from `info`.
  // A malformed request, one over the channel's limits (kMaxControlFrames frames,
  // kMaxControlMessageBytes bytes) or a protocol mismatch is answered with a refusal and
  // counted; nothing a client sends can stop the server: should the socket fail anyway, it is
  // made afresh on the same endpoint (counted in rebinds()). Returns the number of requests
  // answered.
  int Serve(const LearnerInfo& info, Deadline deadline);

  // The reply to one request, as Serve sends it: a welcome, a status or a refusal saying
  // why. Never throws for anything a client sends.
  OutgoingMessage Answer(std::shared_ptr<const Multipart> request, const LearnerInfo& info);

  uint64_t refused() const { return refused_; }
  // Times the socket was made afresh after it failed.
  uint64_t rebinds() const { return rebinds_; }
  // The actor reports accepted since the last call, oldest first (at most kMaxPendingReports
  // are kept; older ones are dropped). A report with impossible contents (NaN or negative
  // times, times beyond its uptime, an id out of range, an overlong host) is refused, saying
  // why, and counted in refused().
  std::vector<ActorReport> TakeReports();
  static constexpr size_t kMaxPendingReports = 65536;

 private:
  // Counts and logs (rate-limited) a refusal of what `who` sent, and returns its reply.
  OutgoingMessage Refuse(const std::string& reason, const std::string& who);
  std::unique_ptr<ZmqSocket> MakeSocket() const;
  // Replaces the socket with a fresh one bound to endpoint_.
  void Rebind();

  const ZmqContext& context_;
  const SocketSecurity security_;
  std::unique_ptr<ZmqSocket> socket_;
  uint64_t rebinds_ = 0;
  std::string endpoint_;
  std::vector<ActorReport> reports_;
  uint64_t refused_ = 0;
  LogLimiter log_limiter_;
};

}  // namespace rlrec::common

#endif  // RLREC_COMMON_WIRE_CONTROL_H_
