#include "tests/test_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/base/checksum.h"
#include "common/base/json.h"
#include "common/run/run_folder.h"
#include "common/wire/capnp_frames.h"
#include "common/wire/protocol.h"
#include "common/wire/weights.capnp.h"
#include "launch/cli/child_process.h"

namespace rlrec::testing {

std::string BinDir() { return RLREC_BIN_DIR; }
std::string SourceDir() { return RLREC_SOURCE_DIR; }

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int LoopbackConnect(int port, double timeout_s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (timeout_s > 0) {
    timeval tv{static_cast<time_t>(timeout_s),
               static_cast<suseconds_t>((timeout_s - static_cast<time_t>(timeout_s)) * 1e6)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string HttpExchange(int port, const std::string& request, double timeout_s) {
  const int fd = LoopbackConnect(port, timeout_s);
  if (fd < 0) return "";
  std::string response;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
  }
  ::close(fd);
  return response;
}

std::optional<std::string> HttpGet(int port, const std::string& path, double timeout_s) {
  const std::string response = HttpExchange(
      port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout_s);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") > response.find("\r\n") ||
      body == std::string::npos) {
    return std::nullopt;
  }
  return response.substr(body + 4);
}

TempDir::TempDir() {
  char pattern[] = "/tmp/rlrec-test-XXXXXX";
  char* made = ::mkdtemp(pattern);
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult RunCommand(const std::vector<std::string>& argv, double timeout_s) {
  launch::ChildProcess child(argv, "", /*capture=*/true);
  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{child.output_fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      ssize_t n = ::read(child.output_fd(), buf, sizeof(buf));
      if (n <= 0) break;
      result.output.append(buf, n);
    }
  }
  auto status = child.WaitFor(std::max(0.0, timeout_s));
  result.exit_code = status ? *status : -1;
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string WaitForFirstLine(const std::string& path, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string line;
    if (std::getline(in, line) && !line.empty()) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::optional<double> JsonNumber(const std::string& line, const std::string& key) {
  return common::JsonNumberField(line, key);
}

LoopbackPipe::LoopbackPipe(const common::ZmqContext& context)
    : pull_(context, ZMQ_PULL, "test PULL"), push_(context, ZMQ_PUSH, "test PUSH") {
  push_.Connect(pull_.Bind("tcp://127.0.0.1:*"));
}

std::shared_ptr<const common::Multipart> LoopbackPipe::Deliver(
    const common::OutgoingMessage& message) {
  if (!push_.Send(message, common::After(10))) return nullptr;
  return pull_.Receive(common::After(10));
}

std::shared_ptr<const common::Multipart> LoopbackPipe::DeliverRaw(
    const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!push_.SendCopy(frames[i], i + 1 < frames.size(), common::After(10))) return nullptr;
  }
  return pull_.Receive(common::After(10));
}

common::Trajectory MakeTestTrajectory(int T, int E, int C, int F, int K, uint64_t version,
                                      uint32_t actor_id, int H) {
  struct Buffers {
    std::vector<float> observations, log_probs, rewards, bootstrap;
    std::vector<int32_t> slates, history_topics, boot_history_topics;
    std::vector<uint8_t> dones;
    std::vector<int64_t> candidate_items, history_items, boot_candidate_items, boot_history_items;
    std::vector<float> history_responses, boot_history_responses;
  };
  auto b = std::make_shared<Buffers>();
  const int R = C + 1;
  b->observations.resize(size_t(T) * E * R * F);
  for (size_t i = 0; i < b->observations.size(); ++i) b->observations[i] = 0.5f * i;
  b->slates.resize(size_t(T) * E * K);
  for (size_t i = 0; i < b->slates.size(); ++i) b->slates[i] = static_cast<int32_t>(i % C);
  b->log_probs.assign(size_t(T) * E, -1.25f);
  b->rewards.resize(size_t(T) * E);
  for (size_t i = 0; i < b->rewards.size(); ++i) b->rewards[i] = float(i % 5);
  b->dones.resize(size_t(T) * E);
  for (size_t i = 0; i < b->dones.size(); ++i) b->dones[i] = i % 7 == 0;
  b->bootstrap.resize(size_t(E) * R * F);
  for (size_t i = 0; i < b->bootstrap.size(); ++i) b->bootstrap[i] = -1.0f * i;
  auto view = [](common::DType dtype, std::vector<int64_t> shape, const void* data, size_t bytes) {
    return common::TensorView{dtype, std::move(shape), data, bytes};
  };
  common::Trajectory t;
  t.actor_id = actor_id;
  t.policy_version = version;
  t.unroll_length = T;
  t.num_users = E;
  t.steps.features = view(common::DType::kFloat32, {T, E, R, F}, b->observations.data(),
                          b->observations.size() * 4);
  t.slates = view(common::DType::kInt32, {T, E, K}, b->slates.data(), b->slates.size() * 4);
  t.behaviour_log_probs =
      view(common::DType::kFloat32, {T, E}, b->log_probs.data(), b->log_probs.size() * 4);
  t.rewards = view(common::DType::kFloat32, {T, E}, b->rewards.data(), b->rewards.size() * 4);
  t.dones = view(common::DType::kUInt8, {T, E}, b->dones.data(), b->dones.size());
  t.bootstrap.features =
      view(common::DType::kFloat32, {E, R, F}, b->bootstrap.data(), b->bootstrap.size() * 4);
  t.episode_returns = {12.5f, 40.0f};
  auto fill_context = [&](std::vector<int64_t> lead, std::vector<int64_t>& items,
                          std::vector<int64_t>& history, std::vector<int32_t>& topics,
                          std::vector<float>& responses, common::StateViews& c) {
    int64_t n = 1;
    for (int64_t d : lead) n *= d;
    items.resize(n * C);
    for (size_t i = 0; i < items.size(); ++i) items[i] = int64_t(i) * 3 - 1;
    history.resize(n * H);
    topics.resize(n * H);
    responses.resize(n * H);
    for (size_t i = 0; i < history.size(); ++i) {
      history[i] = int64_t(i % 11) - 1;
      topics[i] = int32_t(i % 5) - 1;
      responses[i] = float(i % 3);
    }
    auto shape = [&](int64_t last) {
      auto s = lead;
      s.push_back(last);
      return s;
    };
    c.candidate_items = view(common::DType::kInt64, shape(C), items.data(), items.size() * 8);
    c.history_items = view(common::DType::kInt64, shape(H), history.data(), history.size() * 8);
    c.history_topics = view(common::DType::kInt32, shape(H), topics.data(), topics.size() * 4);
    c.history_responses =
        view(common::DType::kFloat32, shape(H), responses.data(), responses.size() * 4);
  };
  fill_context({T, E}, b->candidate_items, b->history_items, b->history_topics,
               b->history_responses, t.steps);
  fill_context({E}, b->boot_candidate_items, b->boot_history_items, b->boot_history_topics,
               b->boot_history_responses, t.bootstrap);
  t.owner = b;
  return t;
}

std::vector<std::string> CopyFrames(const common::OutgoingMessage& message) {
  std::vector<std::string> frames;
  for (const auto& f : message.frames) {
    frames.emplace_back(static_cast<const char*>(f.data), f.bytes);
  }
  return frames;
}

common::OutgoingMessage CraftWeightChunk(const CraftedChunk& c) {
  auto message = std::make_shared<common::CapnpOutgoing>();
  auto chunk = message->builder().initRoot<common::wire::WeightChunk>();
  chunk.setProtocolVersion(common::kProtocolVersion);
  chunk.setRunId(c.run_id);
  chunk.setVersion(c.version);
  chunk.setChunkIndex(c.index);
  chunk.setChunkCount(c.count);
  chunk.setTotalBytes(c.total_bytes);
  chunk.setOffset(c.offset);
  chunk.setBaseVersion(c.base_version);
  chunk.setStateChecksum(c.state_checksum);
  chunk.setPublisher(c.publisher);
  auto manifest = chunk.initManifest(static_cast<unsigned>(c.manifest.size()));
  for (size_t i = 0; i < c.manifest.size(); ++i) {
    manifest[i].setName(c.manifest[i].name);
    manifest[i].setDtype(static_cast<common::wire::DType>(c.manifest[i].dtype));
    auto shape = manifest[i].initShape(static_cast<unsigned>(c.manifest[i].shape.size()));
    for (size_t d = 0; d < c.manifest[i].shape.size(); ++d) {
      shape.set(d, static_cast<uint32_t>(c.manifest[i].shape[d]));
    }
  }
  const common::WeightChunkHeader header{c.version, c.index,        c.count,          c.total_bytes,
                                         c.offset,  c.base_version, c.state_checksum, c.publisher};
  chunk.setChecksum(common::WeightChunkChecksum(header, c.data.data(), c.data.size()));
  chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(c.data.data()), c.data.size()));
  return common::ToFrames(std::move(message), common::kWeightsTopic);
}

void UseFreshDocuments(common::Trajectory& t) {
  for (const common::StateViews* state : {&t.steps, &t.bootstrap}) {
    for (const common::TensorView* ids : {&state->candidate_items, &state->history_items}) {
      auto* id = static_cast<int64_t*>(const_cast<void*>(ids->data));
      std::fill(id, id + ids->numel(), int64_t{-1});
    }
  }
}

void KeepWithinWorld(common::Trajectory& t) {
  for (const common::TensorView* rows : {&t.steps.features, &t.bootstrap.features}) {
    auto* x = static_cast<float*>(const_cast<void*>(rows->data));
    const int64_t F = rows->shape.back();
    for (int64_t i = 0, n = rows->numel(); i < n; ++i) x[i] = i % F == F - 1 ? 1.f : 0.f;
  }
}

common::TrajectoryContract TestContract(int T, int C, int F, int K, int H) {
  common::TrajectoryContract c;
  c.unroll = T;
  c.rows = C + 1;
  c.features = F;
  c.slate_size = K;
  c.history = H;
  c.topics = 4;
  return c;
}

std::vector<std::string> SmallJobFlags() {
  return {"--sim.users_per_actor=8",   "--actor.unroll=10",        "--learner.batch_trajectories=2",
          "--learner.publish_every=1", "--run.report_every_s=0.5", "--run.budget_seconds=120"};
}

int NewestCheckpoint(const std::string& run_dir) {
  const auto checkpoints = common::ListCheckpoints(run_dir + "/checkpoints");
  return checkpoints.empty() ? -1 : static_cast<int>(checkpoints.back().update);
}

bool WaitForCheckpoint(const std::string& run_dir, int update, double timeout_s) {
  const auto deadline = common::After(timeout_s);
  while (NewestCheckpoint(run_dir) < update) {
    if (common::Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::unique_ptr<launch::ChildProcess> StartLearner(const std::string& run_dir,
                                                   const std::vector<std::string>& extra,
                                                   const std::string& log_path) {
  std::vector<std::string> argv = {BinDir() + "/rlrec-learner", "--run-dir", run_dir};
  for (const auto& f : SmallJobFlags()) argv.push_back(f);
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::filesystem::create_directories(run_dir);
  return std::make_unique<launch::ChildProcess>(
      argv, log_path.empty() ? run_dir + "/learner.log" : log_path, false);
}

std::string WaitForControlEndpoint(const std::string& run_dir, double timeout_s) {
  return WaitForFirstLine(run_dir + "/control.endpoint", timeout_s);
}

std::unique_ptr<launch::ChildProcess> StartActor(const std::string& run_dir,
                                                 const std::string& control, int id,
                                                 const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {BinDir() + "/rlrec-actor", "--transport.control=" + control,
                                   "--actor-id=" + std::to_string(id)};
  for (const auto& f : SmallJobFlags()) argv.push_back(f);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<launch::ChildProcess>(
      argv, run_dir + "/actor-" + std::to_string(id) + ".log", false);
}

std::vector<std::string> MpirunPrefix(int ranks) {
  std::vector<std::string> argv = {RLREC_MPIEXEC};
  std::istringstream flags(RLREC_MPIRUN_FLAGS);
  for (std::string flag; flags >> flag;) argv.push_back(flag);
  argv.push_back("-np");
  argv.push_back(std::to_string(ranks));
  return argv;
}

double NewestUpdate(const std::string& run_dir) {
  const auto rows = ReadLines(run_dir + "/metrics.jsonl");
  return rows.empty() ? -1 : JsonNumber(rows.back(), "update").value_or(-1);
}

std::vector<std::string> WaitForFinishedRun(launch::ChildProcess& learner,
                                            launch::ChildProcess& actor,
                                            const std::string& run_dir) {
  const std::string log = run_dir + "/learner.log";
  const auto status = learner.WaitFor(180);
  if (!status) {
    ADD_FAILURE() << "the learner did not finish\n" << ReadFile(log);
    return {};
  }
  if (*status != 0) {
    ADD_FAILURE() << "the learner exited with status " << *status << "\n" << ReadFile(log);
    return {};
  }
  EXPECT_TRUE(actor.WaitFor(30)) << "the actor outlived the run";
  const auto rows = ReadLines(run_dir + "/metrics.jsonl");
  EXPECT_FALSE(rows.empty()) << "no metrics rows in " << run_dir;
  return rows;
}

ProcessMemory MemoryOf(pid_t pid) {
  ProcessMemory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key, unit;
  uint64_t kib = 0;
  while (in >> key) {
    if (key == "VmRSS:" && in >> kib >> unit) m.rss = kib << 10;
    if (key == "VmHWM:" && in >> kib >> unit) m.peak = kib << 10;
  }
  return m;
}

std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  const std::string self = std::to_string(::getpid());
  while (dirent* entry = ::readdir(proc)) {
    std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    std::string cmdline = ReadFile("/proc/" + pid + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    // A zombie has an empty command line and is not a running process.
    if (!cmdline.empty() && cmdline.find(needle) != std::string::npos) {
      pids.push_back(static_cast<pid_t>(std::stol(pid)));
    }
  }
  ::closedir(proc);
  return pids;
}

bool AnyProcessMentions(const std::string& needle) { return !ProcessesMentioning(needle).empty(); }

}  // namespace rlrec::testing
