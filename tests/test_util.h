#ifndef RLREC_TESTS_TEST_UTIL_H_
#define RLREC_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/data/trajectory.h"
#include "common/transport/zmq_socket.h"
#include "common/wire/trajectory_checks.h"
#include "common/wire/weights_codec.h"
#include "launch/cli/child_process.h"

namespace rlrec::testing {

// Whether this build runs under a sanitizer, whose allocator keeps freed memory (ASan's
// quarantine) and multiplies what memory costs: figures of resident memory mean little there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// Folder of the built programs (build/bin) and of the source tree.
std::string BinDir();
std::string SourceDir();

// A fresh empty folder under /tmp, removed when this object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a program to completion (at most `timeout_s`), capturing stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, double timeout_s = 60);

std::string ReadFile(const std::string& path);
std::vector<std::string> ReadLines(const std::string& path);

// Waits until `path` exists and is non-empty; returns its first line, or "" at the deadline.
std::string WaitForFirstLine(const std::string& path, double timeout_s);

// The number stored under "key" in a flat JSON object line, or nullopt (absent or null).
std::optional<double> JsonNumber(const std::string& line, const std::string& key);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int FreeTcpPort();

// A TCP connection to 127.0.0.1:`port` (receive and send timeouts of `timeout_s` when
// positive), or -1. The caller closes it.
int LoopbackConnect(int port, double timeout_s = 0);

// Sends `request` over a fresh loopback TCP connection and returns all that comes back until
// the peer closes (status line, headers, body), "" when nothing connects; waits at most
// `timeout_s` per receive.
std::string HttpExchange(int port, const std::string& request, double timeout_s = 5);

// The body of an HTTP GET of `path` from 127.0.0.1:`port` over a real TCP connection, or
// nullopt when nothing answers with status 200 within `timeout_s`.
std::optional<std::string> HttpGet(int port, const std::string& path, double timeout_s = 5);

// Delivers messages over a real PUSH/PULL pair on a free loopback TCP port, so tests get the
// very frames ZeroMQ hands a receiver.
class LoopbackPipe {
 public:
  explicit LoopbackPipe(const common::ZmqContext& context);
  std::shared_ptr<const common::Multipart> Deliver(const common::OutgoingMessage& message);
  // Sends raw frames (copied), e.g. garbage, and returns what arrives.
  std::shared_ptr<const common::Multipart> DeliverRaw(const std::vector<std::string>& frames);

 private:
  common::ZmqSocket pull_, push_;
};

// A valid trajectory of T steps, E users, C candidates, F features and K-item slates, with
// recognisable contents (element i of each tensor is derived from i), owning its bytes.
common::Trajectory MakeTestTrajectory(int T, int E, int C, int F, int K, uint64_t version = 3,
                                      uint32_t actor_id = 7, int H = 4);

// Sets every item id of `trajectory` (which must own its bytes, as MakeTestTrajectory's do) to
// -1, as an actor of a run without a fixed corpus (sim.corpus_size = 0, the default) sends.
void UseFreshDocuments(common::Trajectory& trajectory);

// Rewrites the feature rows of `trajectory` (which must own its bytes, as MakeTestTrajectory's
// do) to values the built-in world produces (common/wire/world_ranges.h): every feature 0 but the
// last of each row, 1. Its other values (rewards in [0, 4], responses in [0, 2], returns 12.5
// and 40) are the world's already. For trajectories sent to a real learner.
void KeepWithinWorld(common::Trajectory& trajectory);

// The contract MakeTestTrajectory(T, E, C, F, K, ..., H) keeps (any item id, topics < 4).
common::TrajectoryContract TestContract(int T = 2, int C = 4, int F = 6, int K = 2, int H = 4);

// The frames of `message`, copied (for tests that corrupt them).
std::vector<std::string> CopyFrames(const common::OutgoingMessage& message);

// A weight chunk with whatever header a hostile publisher likes: topic frame, then the chunk,
// its checksum computed as an honest publisher would (so only the header lies).
struct CraftedChunk {
  std::string run_id = "run";
  uint64_t version = 1;
  uint32_t index = 0, count = 1;
  uint64_t total_bytes = 0, offset = 0;
  uint64_t base_version = 0, state_checksum = 0, publisher = 0;
  std::vector<common::ParamSpec> manifest;
  std::string data;
};
common::OutgoingMessage CraftWeightChunk(const CraftedChunk& chunk);

// Flags of a small, quick job for multi-process tests.
std::vector<std::string> SmallJobFlags();

// Starts rlrec-learner for `run_dir` with SmallJobFlags() and `extra`, its output in
// `log_path` (default: run_dir/learner.log). The learner picks free loopback ports.
std::unique_ptr<launch::ChildProcess> StartLearner(const std::string& run_dir,
                                                   const std::vector<std::string>& extra,
                                                   const std::string& log_path = "");
// Waits for the learner of `run_dir` to publish its control endpoint ("" on timeout).
std::string WaitForControlEndpoint(const std::string& run_dir, double timeout_s = 60);
// Starts rlrec-actor `id` against `control`, its output in run_dir/actor-ID.log.
std::unique_ptr<launch::ChildProcess> StartActor(const std::string& run_dir,
                                                 const std::string& control, int id,
                                                 const std::vector<std::string>& extra = {});

// The update of the newest checkpoint (checkpoints/ckpt-<update>.pt) of `run_dir`, or -1.
int NewestCheckpoint(const std::string& run_dir);
// Waits until `run_dir` holds a checkpoint of update `update` or later; false at the deadline.
bool WaitForCheckpoint(const std::string& run_dir, int update, double timeout_s = 60);

// The "update" of the newest metrics row of `run_dir`, or -1 when it has none.
double NewestUpdate(const std::string& run_dir);

// Waits for a learner of `run_dir` that stops by itself (max_updates) and its `actor`:
// records a test failure unless the learner exits with status 0 within 180 s and the actor
// ends within 30 s after it. Returns the run's metrics rows (none on such a failure).
std::vector<std::string> WaitForFinishedRun(launch::ChildProcess& learner,
                                            launch::ChildProcess& actor,
                                            const std::string& run_dir);

// A process's resident memory and its peak so far, in bytes (/proc/PID/status: VmRSS,
// VmHWM); zeros when it cannot be read.
struct ProcessMemory {
  uint64_t rss = 0, peak = 0;
};
ProcessMemory MemoryOf(pid_t pid);

// The live processes whose command lines contain `needle`.
std::vector<pid_t> ProcessesMentioning(const std::string& needle);
// True when some live process's command line contains `needle`.
bool AnyProcessMentions(const std::string& needle);

// The start of a command that runs a program as `ranks` MPI ranks on this host: mpirun with
// the flags tests need (oversubscription, root allowed), then "-np", ranks.
std::vector<std::string> MpirunPrefix(int ranks);

}  // namespace rlrec::testing

#endif  // RLREC_TESTS_TEST_UTIL_H_
