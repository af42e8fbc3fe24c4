#include "common/control.h"

#include <capnp/serialize.h>
#include <kj/exception.h>
#include <unistd.h>

#include <cstring>

#include "common/control.capnp.h"
#include "common/logging.h"

namespace rlrec::common {
namespace {

std::string ToBytes(capnp::MessageBuilder& builder) {
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A control message read from one frame. Control messages are tiny, so the frame is copied
// into aligned words rather than read in place.
struct FlatMessage {
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
};

FlatMessage ReadFlat(const Multipart& message, const char* what) {
  if (message.size() != 1) {
    throw InvalidInput(std::string(what) + ": expected 1 frame, got " +
                       std::to_string(message.size()));
  }
  size_t bytes = message.bytes(0);
  if (bytes < 8 || bytes % 8 != 0 || bytes > (1u << 20)) {
    throw InvalidInput(std::string(what) + ": " + std::to_string(bytes) +
                       " bytes is not a Cap'n Proto control message");
  }
  FlatMessage flat;
  flat.words = kj::heapArray<capnp::word>(bytes / 8);
  std::memcpy(flat.words.begin(), message.data(0), bytes);
  flat.reader = std::make_unique<capnp::FlatArrayMessageReader>(flat.words.asPtr());
  return flat;
}

LearnerInfo InfoFromWelcome(wire::Welcome::Reader w) {
  LearnerInfo info;
  info.run_id = w.getRunId().cStr();
  for (auto e : w.getTrajectoryEndpoints()) info.trajectory_endpoints.emplace_back(e.cStr());
  info.weights_endpoint = w.getWeightsEndpoint().cStr();
  info.latest_version = w.getLatestVersion();
  return info;
}

std::string Refusal(const std::string& reason) {
  capnp::MallocMessageBuilder builder(256);
  builder.initRoot<wire::ControlReply>().setRefused(reason);
  return ToBytes(builder);
}

}  // namespace

ControlClient::ControlClient(const ZmqContext& context, std::string endpoint, double timeout_s,
                             int retries)
    : context_(context), endpoint_(std::move(endpoint)), timeout_s_(timeout_s), retries_(retries) {}

std::unique_ptr<Multipart> ControlClient::Request(const std::string& request, const char* what) {
  for (int attempt = 0; attempt <= retries_; ++attempt) {
    // A fresh socket per attempt: a REQ socket whose request went unanswered cannot send again.
    ZmqSocket socket(context_, ZMQ_REQ, "control REQ");
    socket.SetInt(ZMQ_LINGER, 0);
    socket.Connect(endpoint_);
    Deadline deadline = After(timeout_s_);
    if (!socket.SendCopy(request, /*more=*/false, deadline)) continue;
    if (auto reply = socket.Receive(deadline)) return reply;
    RLREC_LOG(Warning) << what << " to " << endpoint_ << ": no answer within " << timeout_s_
                       << " s (attempt " << attempt + 1 << " of " << retries_ + 1 << ")";
  }
  throw Timeout(std::string(what) + " to " + endpoint_ + ": no answer after " +
                std::to_string(retries_ + 1) + " attempts of " + std::to_string(timeout_s_) + " s");
}

LearnerInfo ControlClient::Hello(uint32_t actor_id, uint32_t protocol_version) {
  capnp::MallocMessageBuilder builder(256);
  auto hello = builder.initRoot<wire::ControlRequest>().initHello();
  hello.setProtocolVersion(protocol_version);
  hello.setActorId(actor_id);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  hello.setHost(host);
  hello.setPid(static_cast<uint32_t>(getpid()));
  auto reply = Request(ToBytes(builder), "control hello");
  try {
    FlatMessage flat = ReadFlat(*reply, "control reply");
    auto root = flat.reader->getRoot<wire::ControlReply>();
    if (root.isRefused()) {
      throw InvalidInput("learner at " + endpoint_ + " refused hello: " + root.getRefused().cStr());
    }
    if (!root.isWelcome()) throw InvalidInput("control reply to hello is not a welcome");
    return InfoFromWelcome(root.getWelcome());
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("control reply: malformed: ") + e.getDescription().cStr());
  }
}

LearnerInfo ControlClient::Status() {
  capnp::MallocMessageBuilder builder(64);
  builder.initRoot<wire::ControlRequest>().setStatus();
  auto reply = Request(ToBytes(builder), "control status");
  try {
    FlatMessage flat = ReadFlat(*reply, "control reply");
    auto root = flat.reader->getRoot<wire::ControlReply>();
    if (root.isRefused())
      throw InvalidInput(std::string("status refused: ") + root.getRefused().cStr());
    if (!root.isStatus()) throw InvalidInput("control reply to status is not a status");
    auto s = root.getStatus();
    LearnerInfo info;
    info.run_id = s.getRunId().cStr();
    info.updates = s.getUpdates();
    info.env_steps = s.getEnvSteps();
    info.latest_version = s.getLatestVersion();
    return info;
  } catch (const kj::Exception& e) {
    throw InvalidInput(std::string("control reply: malformed: ") + e.getDescription().cStr());
  }
}

ControlServer::ControlServer(const ZmqContext& context, const std::string& endpoint)
    : socket_(context, ZMQ_REP, "control REP") {
  endpoint_ = socket_.Bind(endpoint);
}

int ControlServer::Serve(const LearnerInfo& info, Deadline deadline) {
  int answered = 0;
  while (auto request = socket_.Receive(answered == 0 ? deadline : Clock::now())) {
    std::string reply;
    try {
      FlatMessage flat = ReadFlat(*request, "control request");
      auto root = flat.reader->getRoot<wire::ControlRequest>();
      if (root.isHello()) {
        auto hello = root.getHello();
        if (hello.getProtocolVersion() != kProtocolVersion) {
          ++refused_;
          reply = Refusal("protocol version " + std::to_string(hello.getProtocolVersion()) +
                          " is not this learner's " + std::to_string(kProtocolVersion) +
                          "; run actors and learners built from the same rlrec");
          RLREC_LOG(Warning) << "refused actor " << hello.getActorId() << " on "
                             << hello.getHost().cStr() << ": protocol version "
                             << hello.getProtocolVersion();
        } else {
          actors_seen_.insert(hello.getActorId());
          capnp::MallocMessageBuilder builder(512);
          auto welcome = builder.initRoot<wire::ControlReply>().initWelcome();
          welcome.setRunId(info.run_id);
          auto eps = welcome.initTrajectoryEndpoints(
              static_cast<unsigned>(info.trajectory_endpoints.size()));
          for (size_t i = 0; i < info.trajectory_endpoints.size(); ++i) {
            eps.set(i, info.trajectory_endpoints[i]);
          }
          welcome.setWeightsEndpoint(info.weights_endpoint);
          welcome.setLatestVersion(info.latest_version);
          reply = ToBytes(builder);
        }
      } else if (root.isStatus()) {
        capnp::MallocMessageBuilder builder(256);
        auto status = builder.initRoot<wire::ControlReply>().initStatus();
        status.setRunId(info.run_id);
        status.setUpdates(info.updates);
        status.setEnvSteps(info.env_steps);
        status.setLatestVersion(info.latest_version);
        reply = ToBytes(builder);
      } else {
        ++refused_;
        reply = Refusal("unknown control request");
      }
    } catch (const kj::Exception& e) {
      ++refused_;
      reply = Refusal(std::string("malformed control request: ") + e.getDescription().cStr());
    } catch (const Error& e) {
      ++refused_;
      reply = Refusal(e.what());
    }
    // A REP socket must answer before it can receive again; the peer is waiting, so the
    // send does not block for long.
    socket_.SendCopy(reply, /*more=*/false, After(1.0));
    ++answered;
  }
  return answered;
}

}  // namespace rlrec::common
