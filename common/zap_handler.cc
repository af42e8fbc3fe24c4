#include "common/zap_handler.h"

#include <memory>
#include <vector>

#include "common/error.h"
#include "common/logging.h"

namespace rlrec::common {
namespace {

// A ZAP request: version, request id, domain, address, routing id, mechanism, credentials.
constexpr size_t kRequestFrames = 7;

// A reply of copied frames.
OutgoingMessage Reply(const std::string& request_id, const char* status, const char* text) {
  auto frames = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{"1.0", request_id, status, text, "", ""});
  OutgoingMessage reply;
  for (const auto& f : *frames) reply.frames.push_back({f.data(), f.size()});
  reply.owner = frames;
  return reply;
}

}  // namespace

ZapHandler::ZapHandler(const ZmqContext& context, const std::string& client_public_z85)
    : socket_(context, ZMQ_REP, "ZAP REP") {
  client_public_.resize(32);
  if (client_public_z85.size() != 40 ||
      zmq_z85_decode(reinterpret_cast<uint8_t*>(client_public_.data()),
                     client_public_z85.c_str()) == nullptr) {
    throw InvalidInput("ZAP handler: the client public key is not a 40-character Z85 key");
  }
  socket_.LimitMessages(4096, 16);
  // Bound here, before any CURVE socket of the context can need it; the thread takes over.
  socket_.Bind("inproc://zeromq.zap.01");
  thread_ = std::thread(&ZapHandler::Serve, this);
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  thread_.join();
}

void ZapHandler::Serve() {
  LogLimiter log_limiter;
  while (!stop_) {
    std::unique_ptr<Multipart> request;
    try {
      request = socket_.Receive(After(0.1));
    } catch (const Error& e) {
      RLREC_LOG(Error) << "ZAP handler: " << e.what();
      continue;
    }
    if (!request) continue;
    const std::string request_id = request->size() > 1 ? std::string(request->view(1)) : "";
    const bool admit = request->size() >= kRequestFrames && request->view(0) == "1.0" &&
                       request->view(5) == "CURVE" && request->view(6) == client_public_;
    if (admit) {
      ++admitted_;
    } else {
      ++denied_;
      if (log_limiter.Allow()) {
        RLREC_LOG(Warning) << "refused a connection from "
                           << (request->size() > 3 ? Printable(request->view(3)) : "?")
                           << ": not a client of this run (no CURVE key of it; " << denied_.load()
                           << " refused so far)";
      }
    }
    socket_.Send(admit ? Reply(request_id, "200", "OK")
                       : Reply(request_id, "400", "not a client of this run"),
                 After(1.0));
  }
}

}  // namespace rlrec::common
