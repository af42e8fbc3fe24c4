#include "learner/endpoints.h"

#include <filesystem>
#include <fstream>

#include "common/base/atomic_file.h"
#include "common/base/check.h"
#include "common/base/error.h"

namespace rlrec::learner {
namespace {

std::string Name(LearnerSocket socket, int rank) {
  switch (socket) {
    case LearnerSocket::kControl:
      return "control";
    case LearnerSocket::kWeights:
      return "weights";
    case LearnerSocket::kTrajectory:
      return "trajectory." + std::to_string(rank);
  }
  return "?";
}

}  // namespace

std::string BindEndpoint(const std::string& host, int port) {
  return "tcp://" + host + ":" + (port == 0 ? std::string("*") : std::to_string(port));
}

int PortOf(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(endpoint.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string AdvertisedEndpoint(const std::string& bound, const std::string& hostname) {
  const std::string wildcard = "tcp://0.0.0.0:";
  if (bound.rfind(wildcard, 0) != 0) return bound;
  return "tcp://" + hostname + ":" + bound.substr(wildcard.size());
}

std::string Advertise(const std::string& bound, const common::RunConfig::Transport& transport) {
  if (transport.advertise_host.empty()) return AdvertisedEndpoint(bound, common::HostName());
  const auto colon = bound.rfind(':');
  return "tcp://" + transport.advertise_host + bound.substr(colon);
}

PortsFile PortsFile::Read(const std::string& path) {
  PortsFile file;
  std::ifstream in(path);
  std::string name;
  int port = 0;
  while (in >> name >> port) file.ports_[name] = port;
  return file;
}

int PortsFile::Get(LearnerSocket socket, int rank) const {
  auto it = ports_.find(Name(socket, rank));
  return it == ports_.end() ? 0 : it->second;
}

void PortsFile::Set(LearnerSocket socket, int port, int rank) { ports_[Name(socket, rank)] = port; }

std::string PortsFile::Text() const {
  std::string text;
  auto line = [&](const std::string& name) {
    auto it = ports_.find(name);
    if (it != ports_.end()) text += name + " " + std::to_string(it->second) + "\n";
  };
  line(Name(LearnerSocket::kControl, 0));
  line(Name(LearnerSocket::kWeights, 0));
  for (int rank = 0; ports_.count(Name(LearnerSocket::kTrajectory, rank)); ++rank) {
    line(Name(LearnerSocket::kTrajectory, rank));
  }
  return text;
}

void PortsFile::Write(const std::string& path) const {
  common::WriteFileAtomically(path, {Text()});
}

LearnerPorts ChoosePorts(const common::RunConfig::Transport& transport, int rank,
                         const PortsFile& saved) {
  LearnerPorts ports;
  ports.control =
      transport.control_port != 0 ? transport.control_port : saved.Get(LearnerSocket::kControl);
  ports.weights =
      transport.weights_port != 0 ? transport.weights_port : saved.Get(LearnerSocket::kWeights);
  ports.trajectory = transport.trajectory_port != 0 ? transport.trajectory_port + rank
                                                    : saved.Get(LearnerSocket::kTrajectory, rank);
  return ports;
}

common::SocketSecurity LearnerSecurity(const common::RunConfig::Transport& transport,
                                       const common::RunDir& run_dir, const MpiWorld& world,
                                       double timeout_s) {
  if (!common::UsesCurve(transport.security, transport.host)) return {};
  std::string text;
  if (world.rank() == 0) {
    common::CurveKeys keys;
    if (std::filesystem::exists(run_dir.curve_keys())) {
      keys = common::ReadCurveKeys(run_dir.curve_keys());
      if (keys.server_secret.empty()) {
        throw common::InvalidInput("'" + run_dir.curve_keys() + "' holds no server_secret");
      }
    } else {
      keys = common::GenerateCurveKeys();
      common::WriteCurveKeys(run_dir.curve_keys(), keys, /*for_clients=*/false);
    }
    common::WriteCurveKeys(run_dir.curve_client_keys(), keys, /*for_clients=*/true);
    text = common::CurveKeysText(keys);
  }
  // Every rank binds a CURVE server socket (its trajectory PULL) with the lead's keys.
  text = world.AllGather(text, timeout_s)[0];
  return {true, common::ParseCurveKeysText(text, "the lead learner's keys")};
}

LearnerGuard GuardLearnerSockets(const common::ZmqContext& context,
                                 const common::RunConfig::Transport& transport,
                                 const common::RunDir& run_dir, const MpiWorld& world,
                                 double timeout_s) {
  LearnerGuard guard;
  guard.security = LearnerSecurity(transport, run_dir, world, timeout_s);
  // With CURVE only the run's key holders get in; without, only this user's processes of this
  // host (and any peer off it: a trusted network).
  guard.zap = std::make_unique<common::ZapHandler>(
      context, guard.security.curve ? guard.security.keys.client_public : std::string());
  guard.security.guard = guard.zap.get();
  return guard;
}

}  // namespace rlrec::learner
