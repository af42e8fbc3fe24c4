#include "common/wire/control.h"

#include <kj/exception.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "common/base/logging.h"
#include "common/run/actor_fields.h"
#include "common/wire/capnp_frames.h"
#include "common/wire/control.capnp.h"

namespace rlrec::common {
namespace {

// Opens a received control message, framed like every rlrec message (one Cap'n Proto
// segment per frame). Throws Error(kInvalidInput) for an oversized or malformed framing.
std::unique_ptr<CapnpIncoming> OpenControl(std::shared_ptr<const Multipart> message,
                                           const char* what) {
  if (message->total_bytes() > kMaxControlMessageBytes) {
    throw InvalidInput(std::string(what) + ": " + std::to_string(message->total_bytes()) +
                       " bytes is not a Cap'n Proto control message");
  }
  return std::make_unique<CapnpIncoming>(std::move(message), 0, what);
}

// Reads a reply with `read(root)`, turning a refusal (prefixed by `refused`) or a malformed
// reply into Error(kInvalidInput).
template <typename Read>
auto ReadReply(std::shared_ptr<const Multipart> reply, const std::string& refused, Read read) {
  auto incoming = OpenControl(std::move(reply), "control reply");
  try {
    auto root = incoming->reader().getRoot<wire::ControlReply>();
    if (root.isRefused()) throw InvalidInput(refused + root.getRefused().cStr());
    return read(root);
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("control reply: malformed: ") + e.getDescription().cStr());
  }
}

LearnerInfo InfoFromWelcome(wire::Welcome::Reader w) {
  LearnerInfo info;
  info.run_id = w.getRunId().cStr();
  for (auto e : w.getTrajectoryEndpoints()) info.trajectory_endpoints.emplace_back(e.cStr());
  info.weights_endpoint = w.getWeightsEndpoint().cStr();
  info.latest_version = w.getLatestVersion();
  return info;
}

// Why a hello or report with these fields is refused, or "".
std::string HelloRefusal(uint32_t protocol_version, uint32_t actor_id) {
  if (protocol_version != kProtocolVersion) {
    return "protocol version " + std::to_string(protocol_version) + " is not this learner's " +
           std::to_string(kProtocolVersion) + "; run actors and learners built from the same rlrec";
  }
  if (actor_id >= kMaxActorId) {
    return "actor id " + std::to_string(actor_id) + " is not below " + std::to_string(kMaxActorId);
  }
  return "";
}

// A report's contents, checked: every time finite, not negative and within the uptime (with
// slack for clocks read at different moments), a host name of printable size.
ActorReport ReadActorReport(wire::ActorReport::Reader w) {
  ActorReport r;
  r.actor_id = w.getActorId();
  if (w.getHost().size() > 255) throw InvalidInput("report: a host name over 255 bytes");
  r.host = Printable(w.getHost().cStr(), 255);
  r.pid = w.getPid();
  r.uptime_s = w.getUptimeS();
  r.env_steps = w.getEnvSteps();
  r.unrolls = w.getUnrolls();
  r.snapshot_version = w.getSnapshotVersion();
  r.simulate_s = w.getSimulateS();
  r.infer_s = w.getInferS();
  r.encode_s = w.getEncodeS();
  r.send_blocked_s = w.getSendBlockedS();
  r.leaving = w.getLeaving();
  if (!std::isfinite(r.uptime_s) || r.uptime_s < 0 || r.uptime_s > 1e9) {
    throw InvalidInput("report: uptime " + std::to_string(r.uptime_s) + " s is impossible");
  }
  const std::pair<ActorPhase, double> times[] = {{ActorPhase::kSimulate, r.simulate_s},
                                                 {ActorPhase::kInfer, r.infer_s},
                                                 {ActorPhase::kEncode, r.encode_s},
                                                 {ActorPhase::kSendBlocked, r.send_blocked_s}};
  for (const auto& [name, seconds] : times) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > r.uptime_s * 1.01 + 1) {
      throw InvalidInput(std::string("report: ") + NameOf(name) + " time " +
                         std::to_string(seconds) + " s is impossible after an uptime of " +
                         std::to_string(r.uptime_s) + " s");
    }
  }
  if (r.env_steps > uint64_t{1} << 50 || r.unrolls > r.env_steps) {
    throw InvalidInput("report: " + std::to_string(r.env_steps) + " env steps in " +
                       std::to_string(r.unrolls) + " unrolls is impossible");
  }
  return r;
}

OutgoingMessage StatusReply(const LearnerInfo& info) {
  auto message = std::make_shared<CapnpOutgoing>(256);
  auto status = message->builder().initRoot<wire::ControlReply>().initStatus();
  status.setRunId(info.run_id);
  status.setUpdates(info.updates);
  status.setEnvSteps(info.env_steps);
  status.setLatestVersion(info.latest_version);
  return ToFrames(std::move(message));
}

OutgoingMessage WelcomeReply(const LearnerInfo& info) {
  auto message = std::make_shared<CapnpOutgoing>(512);
  auto welcome = message->builder().initRoot<wire::ControlReply>().initWelcome();
  welcome.setRunId(info.run_id);
  auto eps =
      welcome.initTrajectoryEndpoints(static_cast<unsigned>(info.trajectory_endpoints.size()));
  for (size_t i = 0; i < info.trajectory_endpoints.size(); ++i) {
    eps.set(i, info.trajectory_endpoints[i]);
  }
  welcome.setWeightsEndpoint(info.weights_endpoint);
  welcome.setLatestVersion(info.latest_version);
  return ToFrames(std::move(message));
}

OutgoingMessage Refusal(const std::string& reason) {
  auto message = std::make_shared<CapnpOutgoing>(256);
  message->builder().initRoot<wire::ControlReply>().setRefused(reason);
  return ToFrames(std::move(message));
}

}  // namespace

ControlClient::ControlClient(const ZmqContext& context, std::string endpoint, double timeout_s,
                             int retries, SocketSecurity security)
    : context_(context),
      endpoint_(std::move(endpoint)),
      timeout_s_(timeout_s),
      retries_(retries),
      security_(std::move(security)) {}

std::unique_ptr<Multipart> ControlClient::Request(const OutgoingMessage& request,
                                                  const char* what) {
  std::string why;
  for (int attempt = 0; attempt <= retries_; ++attempt) {
    // A fresh socket per attempt: a REQ socket whose request went unanswered cannot send again.
    ZmqSocket socket(context_, ZMQ_REQ, "control REQ");
    socket.SetInt(ZMQ_LINGER, 0);
    socket.LimitMessages(kMaxControlMessageBytes, kMaxControlFrames);
    socket.WatchConnections();
    SecureClient(socket, security_);
    socket.Connect(endpoint_);
    Deadline deadline = After(timeout_s_);
    if (socket.Send(request, deadline)) {
      if (auto reply = socket.Receive(deadline)) return reply;
    }
    const ConnectionEvents& events = socket.Connections();
    why = events.Describe(endpoint_);
    // Refused keys or a failed handshake do not mend by asking again.
    if (events.refused > 0 || events.failed > 0) {
      throw InvalidInput(std::string(what) + ": " + why);
    }
    RLREC_LOG(Warning) << what << " to " << endpoint_ << ": no answer within " << timeout_s_
                       << " s (attempt " << attempt + 1 << " of " << retries_ + 1 << "; " << why
                       << ")";
  }
  throw Timeout(std::string(what) + " to " + endpoint_ + ": no answer after " +
                std::to_string(retries_ + 1) + " attempts of " + std::to_string(timeout_s_) +
                " s; " + why);
}

LearnerInfo ControlClient::Hello(uint32_t actor_id, uint32_t protocol_version) {
  auto message = std::make_shared<CapnpOutgoing>(256);
  auto hello = message->builder().initRoot<wire::ControlRequest>().initHello();
  hello.setProtocolVersion(protocol_version);
  hello.setActorId(actor_id);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  hello.setHost(host);
  hello.setPid(static_cast<uint32_t>(getpid()));
  return DecodeWelcome(Request(ToFrames(std::move(message)), "control hello"),
                       "learner at " + endpoint_ + " refused hello: ");
}

LearnerInfo DecodeWelcome(std::shared_ptr<const Multipart> reply, const std::string& refused) {
  return ReadReply(std::move(reply), refused, [](auto root) {
    if (!root.isWelcome()) throw InvalidInput("control reply to hello is not a welcome");
    return InfoFromWelcome(root.getWelcome());
  });
}

LearnerInfo ControlClient::Status() {
  auto message = std::make_shared<CapnpOutgoing>(64);
  message->builder().initRoot<wire::ControlRequest>().setStatus();
  return ReadReply(Request(ToFrames(std::move(message)), "control status"),
                   "status refused: ", [](auto root) {
                     if (!root.isStatus()) {
                       throw InvalidInput("control reply to status is not a status");
                     }
                     auto s = root.getStatus();
                     LearnerInfo info;
                     info.run_id = s.getRunId().cStr();
                     info.updates = s.getUpdates();
                     info.env_steps = s.getEnvSteps();
                     info.latest_version = s.getLatestVersion();
                     return info;
                   });
}

ControlServer::ControlServer(const ZmqContext& context, const std::string& endpoint,
                             const SocketSecurity& security)
    : context_(context), security_(security), socket_(MakeSocket()) {
  endpoint_ = socket_->Bind(endpoint);
}

int ControlServer::Serve(const LearnerInfo& info, Deadline deadline) {
  int answered = 0;
  while (true) {
    try {
      std::shared_ptr<const Multipart> request =
          socket_->Receive(answered == 0 ? deadline : Clock::now());
      if (!request) return answered;
      // A REP socket must answer before it can receive again; the peer is waiting, so the
      // send does not block for long (REP drops a reply its peer cannot take, never waits).
      if (!socket_->Send(Answer(std::move(request), info), After(1.0))) {
        throw Timeout("the reply could not be queued within 1 s");
      }
      ++answered;
    } catch (const Error& e) {
      // Whatever went wrong, the socket is made afresh on the same endpoint, so that no
      // request, however shaped, can leave it unable to answer the next.
      RLREC_LOG(Error) << "control REP at " << endpoint_ << ": " << e.what()
                       << "; binding it afresh";
      Rebind();
      return answered;
    }
  }
}

void ControlServer::Rebind() {
  socket_.reset();
  ++rebinds_;
  for (int attempt = 0;; ++attempt) {
    try {
      socket_ = MakeSocket();
      socket_->Bind(endpoint_);
      return;
    } catch (const Error& e) {
      // The port is this process's: a retry binds it once the old socket let go of it.
      if (attempt >= 50) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

std::unique_ptr<ZmqSocket> ControlServer::MakeSocket() const {
  auto socket = std::make_unique<ZmqSocket>(context_, ZMQ_REP, "control REP");
  socket->LimitMessages(kMaxControlMessageBytes, kMaxControlFrames);
  SecureServer(*socket, security_);
  return socket;
}

OutgoingMessage ControlServer::Answer(std::shared_ptr<const Multipart> request,
                                      const LearnerInfo& info) {
  if (request->oversized()) {
    return Refuse("a request of " + std::to_string(request->frames_seen()) + " frames and " +
                      std::to_string(request->bytes_seen()) +
                      " bytes is over the control channel's limits of " +
                      std::to_string(kMaxControlFrames) + " frames and " +
                      std::to_string(kMaxControlMessageBytes) + " bytes",
                  "a client");
  }
  try {
    auto incoming = OpenControl(request, "control request");
    auto root = incoming->reader().getRoot<wire::ControlRequest>();
    if (root.isHello()) {
      auto hello = root.getHello();
      const std::string who = "actor " + std::to_string(hello.getActorId()) + " on '" +
                              Printable(hello.getHost().cStr()) + "'";
      const std::string refusal = HelloRefusal(hello.getProtocolVersion(), hello.getActorId());
      if (!refusal.empty()) return Refuse(refusal, "a hello from " + who);
      return WelcomeReply(info);
    }
    if (root.isReport()) {
      auto report = root.getReport();
      const std::string refusal = HelloRefusal(report.getProtocolVersion(), report.getActorId());
      if (!refusal.empty()) return Refuse(refusal, "a report");
      try {
        if (reports_.size() >= kMaxPendingReports) reports_.erase(reports_.begin());
        reports_.push_back(ReadActorReport(report));
      } catch (const Error& e) {
        return Refuse(e.what(), "a report from actor " + std::to_string(report.getActorId()));
      }
      return StatusReply(info);
    }
    if (root.isStatus()) return StatusReply(info);
    return Refuse("unknown control request", "a client");
  } catch (const kj::Exception& e) {
    return Refuse(std::string("malformed control request: ") + e.getDescription().cStr(),
                  "a client");
  } catch (const std::exception& e) {
    return Refuse(e.what(), "a client");
  }
}

OutgoingMessage ControlServer::Refuse(const std::string& reason, const std::string& who) {
  ++refused_;
  if (log_limiter_.Allow()) {
    const uint64_t held_back = log_limiter_.TakeSuppressed();
    RLREC_LOG(Warning) << "refused " << who << ": " << reason << " (" << refused_
                       << " refused requests so far"
                       << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                       << ")";
  }
  return Refusal(reason);
}

std::vector<ActorReport> ControlServer::TakeReports() {
  std::vector<ActorReport> out;
  out.swap(reports_);
  return out;
}

OutgoingMessage EncodeActorReport(const ActorReport& r, uint32_t protocol_version) {
  auto message = std::make_shared<CapnpOutgoing>(512);
  auto w = message->builder().initRoot<wire::ControlRequest>().initReport();
  w.setProtocolVersion(protocol_version);
  w.setActorId(r.actor_id);
  w.setHost(r.host);
  w.setPid(r.pid);
  w.setUptimeS(r.uptime_s);
  w.setEnvSteps(r.env_steps);
  w.setUnrolls(r.unrolls);
  w.setSnapshotVersion(r.snapshot_version);
  w.setSimulateS(r.simulate_s);
  w.setInferS(r.infer_s);
  w.setEncodeS(r.encode_s);
  w.setSendBlockedS(r.send_blocked_s);
  w.setLeaving(r.leaving);
  return ToFrames(std::move(message));
}

ActorReporter::ActorReporter(const ZmqContext& context, std::string endpoint, double timeout_s,
                             SocketSecurity security)
    : context_(context),
      endpoint_(std::move(endpoint)),
      timeout_s_(timeout_s),
      security_(std::move(security)) {
  Reconnect();
}

void ActorReporter::Reconnect() {
  socket_.reset();
  socket_ = std::make_unique<ZmqSocket>(context_, ZMQ_REQ, "report REQ");
  socket_->SetInt(ZMQ_LINGER, 0);
  socket_->LimitMessages(kMaxControlMessageBytes, kMaxControlFrames);
  SecureClient(*socket_, security_);
  socket_->Connect(endpoint_);
  pending_ = false;
}

bool ActorReporter::Collect(Deadline deadline) {
  if (!pending_) return true;
  if (auto reply = socket_->Receive(deadline)) {
    pending_ = false;
    ++answered_;
    try {
      auto incoming = OpenControl(std::move(reply), "report reply");
      auto root = incoming->reader().getRoot<wire::ControlReply>();
      if (root.isRefused()) {
        ++refused_;
        RLREC_LOG(Warning) << "the learner refused this actor's report: "
                           << Printable(root.getRefused().cStr(), 200);
      } else if (root.isStatus()) {
        learner_version_ = root.getStatus().getLatestVersion();
      }
    } catch (const std::exception& e) {
      RLREC_LOG(Warning) << "unreadable answer to a report: " << e.what();
    } catch (const kj::Exception& e) {
      RLREC_LOG(Warning) << "unreadable answer to a report: " << e.getDescription().cStr();
    }
    return true;
  }
  if (SecondsSince(sent_at_) >= timeout_s_) Reconnect();  // given up: a fresh socket
  return !pending_;
}

bool ActorReporter::Post(const ActorReport& report) {
  if (!Collect(Clock::now())) return false;
  if (!socket_->Send(EncodeActorReport(report), Clock::now())) return false;
  pending_ = true;
  sent_at_ = Clock::now();
  return true;
}

bool ActorReporter::PostAndWait(const ActorReport& report, Deadline deadline) {
  if (!Collect(Clock::now())) Reconnect();  // the last word matters more than an old report
  if (!socket_->Send(EncodeActorReport(report), deadline)) return false;
  pending_ = true;
  sent_at_ = Clock::now();
  const uint64_t before = answered_;
  Collect(deadline);
  return answered_ > before;
}

}  // namespace rlrec::common
