#include "learner/lead_server.h"

#include <filesystem>

#include "common/base/atomic_file.h"

namespace rlrec::learner {

LeadServer::LeadServer(const common::ZmqContext& context,
                       const common::RunConfig::Transport& transport, const common::RunDir& run_dir,
                       const LearnerPorts& ports, std::vector<std::string> trajectory_endpoints,
                       std::shared_ptr<const common::SnapshotBlob> first,
                       const common::SocketSecurity& security, double actor_timeout_s,
                       uint64_t actors_log_bytes)
    : publisher_(context, BindEndpoint(transport.host, ports.weights),
                 size_t(transport.weights_chunk_kib) * 1024, transport.weights_republish_s,
                 security, first->bytes.size()),
      control_(context, BindEndpoint(transport.host, ports.control), security),
      run_dir_(run_dir),
      health_(run_dir.actors(), actor_timeout_s, actors_log_bytes) {
  publisher_.Publish(std::move(first));
  info_.run_id = run_dir.run_id();
  info_.weights_endpoint = Advertise(publisher_.endpoint(), transport);
  control_endpoint_ = Advertise(control_.endpoint(), transport);
  PortsFile bound;
  bound.Set(LearnerSocket::kControl, PortOf(control_.endpoint()));
  bound.Set(LearnerSocket::kWeights, PortOf(publisher_.endpoint()));
  for (size_t rank = 0; rank < trajectory_endpoints.size(); ++rank) {
    bound.Set(LearnerSocket::kTrajectory, PortOf(trajectory_endpoints[rank]),
              static_cast<int>(rank));
  }
  info_.trajectory_endpoints = std::move(trajectory_endpoints);
  bound.Write(run_dir.ports());
  common::WriteFileAtomically(run_dir.control_endpoint(), {control_endpoint_, "\n"});
}

void LeadServer::Serve(const TrainingCounters& counters) {
  info_.latest_version = counters.snapshot_version;
  info_.updates = counters.updates;
  info_.env_steps = counters.env_steps;
  control_.Serve(info_, common::Clock::now());
  TakeReports();
  publisher_.RepublishIfDue();
}

void LeadServer::TakeReports() {
  const auto now = common::Clock::now();
  for (const auto& report : control_.TakeReports()) {
    health_.Add(report, info_.latest_version, now);
  }
}

void LeadServer::EndRun(const std::string& reason) {
  for (int i = 0; i < 3; ++i) {
    publisher_.PublishRunEnded(info_.run_id, reason);
    control_.Serve(info_, common::After(0.1));
  }
  TakeReports();
  std::error_code ec;
  std::filesystem::remove(run_dir_.control_endpoint(), ec);
}

}  // namespace rlrec::learner
