#ifndef RLREC_LEARNER_ENDPOINTS_H_
#define RLREC_LEARNER_ENDPOINTS_H_

#include <map>
#include <memory>
#include <string>

#include "common/config/config_keys.h"
#include "common/run/run_folder.h"
#include "common/transport/curve.h"
#include "common/transport/zap_handler.h"
#include "common/transport/zmq_socket.h"
#include "learner/ranks/mpi_world.h"

namespace rlrec::learner {

// Where a learner rank listens, and how actors on other hosts reach it.

// The learner's sockets, as the ports file names them.
enum class LearnerSocket { kControl, kWeights, kTrajectory };

// "tcp://host:port" to bind; port 0 as "*" (a free port).
std::string BindEndpoint(const std::string& host, int port);

// The port of a "tcp://host:port" endpoint; 0 when it has none.
int PortOf(const std::string& endpoint);

// `bound` as other hosts reach it: a wildcard address ("tcp://0.0.0.0:P") becomes
// "tcp://`hostname`:P"; any other endpoint stays as it is.
std::string AdvertisedEndpoint(const std::string& bound, const std::string& hostname);

// The endpoint to advertise for a socket bound at `bound`: transport.advertise_host in place of
// the bound address when it is set, AdvertisedEndpoint(bound, common::HostName()) otherwise.
std::string Advertise(const std::string& bound, const common::RunConfig::Transport& transport);

// A run folder's ports file: the ports the learners bound, one "name port" line per socket
// ("control P", "weights P", "trajectory.R P" for rank R), so a resumed run binds the same
// ones and actors still running from before reconnect by themselves. Thread-compatible.
class PortsFile {
 public:
  // The ports in `path`; empty when the file is missing (a run that never ran).
  static PortsFile Read(const std::string& path);

  // The port of `socket` (of learner rank `rank` for trajectories); 0 when unknown.
  int Get(LearnerSocket socket, int rank = 0) const;
  void Set(LearnerSocket socket, int port, int rank = 0);

  // The file's text: control, weights, then the trajectory ports by rank.
  std::string Text() const;
  // Writes Text() to `path` atomically. Throws Error(kUnavailable) when it cannot.
  void Write(const std::string& path) const;

 private:
  std::map<std::string, int> ports_;
};

// The ports one learner rank binds. A configured port wins (a fixed trajectory port is rank
// 0's; rank r takes port + r, so ranks may share a host); a port left 0 takes the one `saved`
// holds (a resumed run), else 0: a free one.
struct LearnerPorts {
  int control = 0;
  int weights = 0;
  int trajectory = 0;
};
// The security of the learners' sockets. Without CURVE (UsesCurve for transport.host): none.
// With it, the lead reads the run's keys from RUN/curve.keys (a resumed run keeps its keys, so
// actors still running reconnect) or creates them there, writes RUN/curve-client.keys for the
// actors (both owner-only), and hands the keys to every other rank over MPI (within
// `timeout_s`). Every rank calls it.
common::SocketSecurity LearnerSecurity(const common::RunConfig::Transport& transport,
                                       const common::RunDir& run_dir, const MpiWorld& world,
                                       double timeout_s);

LearnerPorts ChoosePorts(const common::RunConfig::Transport& transport, int rank,
                         const PortsFile& saved);

// A learner's socket security and, with CURVE, the ZAP handler that admits only the run's
// clients to any socket of `context`; keep it while the sockets live.
struct LearnerGuard {
  common::SocketSecurity security;
  std::unique_ptr<common::ZapHandler> zap;
};
// LearnerSecurity, plus the ZAP handler that admits peers (the run's key holders with CURVE;
// without, this user's processes, on this host), named in `security.guard`. Every rank calls
// it; the guard must outlive the sockets made with `security`.
LearnerGuard GuardLearnerSockets(const common::ZmqContext& context,
                                 const common::RunConfig::Transport& transport,
                                 const common::RunDir& run_dir, const MpiWorld& world,
                                 double timeout_s);

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_ENDPOINTS_H_
