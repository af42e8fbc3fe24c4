#include "common/control.h"

#include <kj/exception.h>
#include <unistd.h>

#include "common/capnp_frames.h"
#include "common/control.capnp.h"
#include "common/logging.h"

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
  for (int attempt = 0; attempt <= retries_; ++attempt) {
    // A fresh socket per attempt: a REQ socket whose request went unanswered cannot send again.
    ZmqSocket socket(context_, ZMQ_REQ, "control REQ");
    socket.SetInt(ZMQ_LINGER, 0);
    socket.LimitMessages(kMaxControlMessageBytes, kMaxControlFrames);
    SecureClient(socket, security_);
    socket.Connect(endpoint_);
    Deadline deadline = After(timeout_s_);
    if (!socket.Send(request, deadline)) continue;
    if (auto reply = socket.Receive(deadline)) return reply;
    RLREC_LOG(Warning) << what << " to " << endpoint_ << ": no answer within " << timeout_s_
                       << " s (attempt " << attempt + 1 << " of " << retries_ + 1 << ")";
  }
  throw Timeout(std::string(what) + " to " + endpoint_ + ": no answer after " +
                std::to_string(retries_ + 1) + " attempts of " + std::to_string(timeout_s_) + " s");
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
    : socket_(context, ZMQ_REP, "control REP") {
  socket_.LimitMessages(kMaxControlMessageBytes, kMaxControlFrames);
  SecureServer(socket_, security);
  endpoint_ = socket_.Bind(endpoint);
}

int ControlServer::Serve(const LearnerInfo& info, Deadline deadline) {
  int answered = 0;
  while (std::shared_ptr<const Multipart> request =
             socket_.Receive(answered == 0 ? deadline : Clock::now())) {
    // A REP socket must answer before it can receive again; the peer is waiting, so the
    // send does not block for long.
    socket_.Send(Answer(std::move(request), info), After(1.0));
    ++answered;
  }
  return answered;
}

OutgoingMessage ControlServer::Answer(std::shared_ptr<const Multipart> request,
                                      const LearnerInfo& info) {
  OutgoingMessage reply;
  try {
    auto incoming = OpenControl(request, "control request");
    auto root = incoming->reader().getRoot<wire::ControlRequest>();
    if (root.isHello()) {
      auto hello = root.getHello();
      std::string refusal;
      if (hello.getProtocolVersion() != kProtocolVersion) {
        refusal = "protocol version " + std::to_string(hello.getProtocolVersion()) +
                  " is not this learner's " + std::to_string(kProtocolVersion) +
                  "; run actors and learners built from the same rlrec";
      } else if (hello.getActorId() >= kMaxActorId) {
        refusal = "actor id " + std::to_string(hello.getActorId()) + " is not below " +
                  std::to_string(kMaxActorId);
      }
      if (!refusal.empty()) {
        ++refused_;
        reply = Refusal(refusal);
        if (log_limiter_.Allow()) {
          const uint64_t held_back = log_limiter_.TakeSuppressed();
          RLREC_LOG(Warning) << "refused a hello from actor " << hello.getActorId() << " on '"
                             << Printable(hello.getHost().cStr()) << "': " << refusal << " ("
                             << refused_ << " refused requests so far"
                             << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                             << ")";
        }
      } else {
        actors_seen_.insert(hello.getActorId());
        auto message = std::make_shared<CapnpOutgoing>(512);
        auto welcome = message->builder().initRoot<wire::ControlReply>().initWelcome();
        welcome.setRunId(info.run_id);
        auto eps = welcome.initTrajectoryEndpoints(
            static_cast<unsigned>(info.trajectory_endpoints.size()));
        for (size_t i = 0; i < info.trajectory_endpoints.size(); ++i) {
          eps.set(i, info.trajectory_endpoints[i]);
        }
        welcome.setWeightsEndpoint(info.weights_endpoint);
        welcome.setLatestVersion(info.latest_version);
        reply = ToFrames(std::move(message));
      }
    } else if (root.isStatus()) {
      auto message = std::make_shared<CapnpOutgoing>(256);
      auto status = message->builder().initRoot<wire::ControlReply>().initStatus();
      status.setRunId(info.run_id);
      status.setUpdates(info.updates);
      status.setEnvSteps(info.env_steps);
      status.setLatestVersion(info.latest_version);
      reply = ToFrames(std::move(message));
    } else {
      ++refused_;
      reply = Refusal("unknown control request");
    }
  } catch (const kj::Exception& e) {
    ++refused_;
    reply = Refusal(std::string("malformed control request: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    ++refused_;
    reply = Refusal(e.what());
  }
  return reply;
}

}  // namespace rlrec::common
