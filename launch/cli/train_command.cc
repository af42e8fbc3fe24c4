#include "launch/cli/train_command.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "common/base/deadline.h"
#include "common/base/error.h"
#include "common/base/file_modes.h"
#include "common/base/json.h"
#include "common/config/config.h"
#include "common/model/memory_plan.h"
#include "common/run/bottleneck.h"
#include "common/run/metrics_fields.h"
#include "common/run/run_folder.h"
#include "launch/cli/child_process.h"
#include "launch/cli/command_flags.h"
#include "launch/cli/plot_command.h"

namespace rlrec::launch {
namespace {

namespace fs = std::filesystem;
using common::After;
using common::Clock;

std::atomic<int> g_signal{0};
void OnSignal(int signal) { g_signal = signal; }

constexpr double kLearnerStartTimeoutS = 60;
constexpr double kLearnerStopTimeoutS = 60;
constexpr double kActorStopTimeoutS = 5;
constexpr int kMaxActorRestarts = 3;

// Copies whatever the learner printed to our stdout and to its log file.
class OutputRelay {
 public:
  OutputRelay(int fd, const std::string& log_path)
      : fd_(fd), log_(std::fopen(log_path.c_str(), "a")) {}
  ~OutputRelay() {
    if (log_) std::fclose(log_);
  }
  // Relays what arrives within `seconds`; returns false once the pipe is closed.
  bool Pump(double seconds) {
    if (fd_ < 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(seconds * 1000)) <= 0) return true;
    char buf[8192];
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) {
      fd_ = -1;
      return false;
    }
    std::fwrite(buf, 1, n, stdout);
    std::fflush(stdout);
    if (log_) {
      std::fwrite(buf, 1, n, log_);
      std::fflush(log_);
    }
    return true;
  }

 private:
  int fd_;
  std::FILE* log_;
};

// The run's actors: started once the learner is up, restarted a few times when they fail
// (a failed actor costs throughput only), stopped after the learner.
class ActorFleet {
 public:
  ActorFleet(std::string bin, common::RunDir run) : bin_(std::move(bin)), run_(std::move(run)) {}

  // Starts actors 0..count-1 against the learner's control endpoint `control`.
  void Start(int count, const std::string& control) {
    control_ = control;
    for (int id = 0; id < count; ++id) actors_.push_back(StartOne(id));
    restarts_.assign(count, 0);
  }

  // Restarts the actors that failed, kMaxActorRestarts times each at most. One that exited
  // cleanly heard the end of the run and stays down.
  void RestartFailed() {
    for (int id = 0; id < static_cast<int>(actors_.size()); ++id) {
      auto status = actors_[id]->Poll();
      if (!status || *status == 0 || restarts_[id] >= kMaxActorRestarts) continue;
      ++restarts_[id];
      std::fprintf(stderr, "rlrec train: actor %d exited with status %d; restart %d of %d\n", id,
                   *status, restarts_[id], kMaxActorRestarts);
      actors_[id] = StartOne(id);
    }
  }

  // Actors leave by themselves when the learner announces the end of the run; those that
  // did not hear it get SIGTERM, then SIGKILL.
  void Stop() {
    const auto deadline = After(kActorStopTimeoutS);
    for (auto& a : actors_) a->WaitFor(common::MillisLeft(deadline) / 1000.0);
    for (auto& a : actors_) a->Signal(SIGTERM);
    for (auto& a : actors_) {
      if (!a->WaitFor(kActorStopTimeoutS)) a->Signal(SIGKILL);
    }
    for (auto& a : actors_) a->WaitFor(kActorStopTimeoutS);
  }

 private:
  std::unique_ptr<ChildProcess> StartOne(int id) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{
            bin_ + "/rlrec-actor", "--config", run_.config(), "--transport.control=" + control_,
            // Read only when the learner is reached with CURVE.
            "--transport.key_file=" + run_.curve_client_keys(), "--actor-id=" + std::to_string(id)},
        run_.actor_log(id), /*capture=*/false);
  }

  const std::string bin_;
  const common::RunDir run_;
  std::string control_;
  std::vector<std::unique_ptr<ChildProcess>> actors_;
  std::vector<int> restarts_;
};

// Says once how to relieve the run's bottleneck, when the learner's rows have shown the same
// side clearly limiting it (common::Diagnose) kHintRows times in a row, past a warm-up.
class BottleneckHint {
 public:
  BottleneckHint(common::RunDir run, int actors) : run_(std::move(run)), actors_(actors) {}

  // Looks at the newest metrics row (at most every 2 s); prints the hint when it is time.
  void Poll() {
    if (given_ || common::SecondsSince(last_look_) < 2) return;
    last_look_ = Clock::now();
    const auto rows = common::TailLines(run_.metrics(), 64 << 10);
    if (rows.empty()) return;
    const std::string& row = rows.back();
    const double wall_time =
        common::JsonNumberField(row, common::NameOf(common::Metric::kWallTime)).value_or(0);
    if (wall_time == last_row_ ||
        common::JsonNumberField(row, common::NameOf(common::Metric::kTimeS)).value_or(0) <
            kWarmUpS) {
      return;
    }
    last_row_ = wall_time;
    const common::Diagnosis diagnosis = common::Diagnose(common::SharesOfRow(row));
    streak_ = diagnosis.side == side_ ? streak_ + 1 : 1;
    side_ = diagnosis.side;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const std::string relief = common::Relief(side_, actors_, cores);
    if (streak_ < kHintRows || relief.empty()) return;
    std::printf("rlrec train: hint: %s; %s\n", diagnosis.phrase.c_str(), relief.c_str());
    std::fflush(stdout);
    given_ = true;
  }

 private:
  static constexpr double kWarmUpS = 10;
  static constexpr int kHintRows = 3;
  const common::RunDir run_;
  const int actors_;
  Clock::time_point last_look_{};
  double last_row_ = 0;
  common::Bottleneck side_ = common::Bottleneck::kUnknown;
  int streak_ = 0;
  bool given_ = false;
};

// The control endpoint the learner writes once it listens, relaying its output meanwhile;
// "" when it exits, a signal arrives or kLearnerStartTimeoutS passes first.
std::string AwaitControlEndpoint(ChildProcess& learner, OutputRelay& relay,
                                 const common::RunDir& run) {
  std::string control;
  const auto deadline = After(kLearnerStartTimeoutS);
  while (control.empty() && learner.running() && !g_signal && Clock::now() < deadline) {
    relay.Pump(0.05);
    control = run.ReadControlEndpoint();
  }
  return control;
}

// Relays the learner's output until it exits, keeping the actors going (and saying once what
// limits the run: BottleneckHint); forwards Ctrl-C (or
// SIGTERM) to the learner, which writes its checkpoint, and kills it if it takes longer than
// kLearnerStopTimeoutS. Returns the learner's exit status.
int SuperviseLearner(ChildProcess& learner, OutputRelay& relay, ActorFleet& actors,
                     BottleneckHint& hint) {
  bool forwarded = false;
  Clock::time_point forwarded_at;
  while (learner.running()) {
    relay.Pump(0.2);
    hint.Poll();
    if (g_signal && !forwarded) {
      std::printf("rlrec train: stopping (signal %d); the learner writes its checkpoint\n",
                  g_signal.load());
      std::fflush(stdout);
      learner.Signal(SIGTERM);
      forwarded = true;
      forwarded_at = Clock::now();
    }
    if (forwarded && common::SecondsSince(forwarded_at) > kLearnerStopTimeoutS) {
      learner.Signal(SIGKILL);
    }
    if (!forwarded) actors.RestartFailed();
  }
  while (relay.Pump(0.2)) {
  }
  return *learner.Poll();
}

}  // namespace

std::string ProgramDirectory() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw common::Internal("cannot find this program's folder: " + ec.message());
  return self.parent_path().string();
}

int TrainCommand(int argc, const char* const* argv) {
  // key=value overrides become --key=value, so every program reads them the same way.
  std::vector<std::string> words = common::OverridesAsFlags(argc, argv);
  // --resume RUN: the run's own config.ini is the config (command-line keys still win).
  const std::string resume = FlagValue(words, "--resume");
  if (!resume.empty() && FlagValue(words, "--config").empty()) {
    words.insert(words.begin() + 1, {"--config", common::RunDir(resume).config()});
  }
  std::vector<const char*> args = AsArgv(words);
  int actors = -1;
  std::string run_dir, resume_flag;
  common::ProgramOptions own("Train options");
  own.Add("actors", &actors, "actors to start (default: actor.count, 0 there = one per core)")
      .Add("run-dir", &run_dir, "run folder (default: run.runs_root/run.name)")
      .Add("resume", &resume_flag,
           "continue the run in this folder from its newest valid checkpoint, with its "
           "config.ini");
  auto parsed =
      common::ParseArgs(static_cast<int>(args.size()), args.data(), "rlrec train",
                        "--config FILE [--actors N] [section.key=value ...] | --resume RUN", own);
  if (!parsed) return 0;
  const common::RunConfig& config = parsed->config;
  common::KeepRunFilesPrivate(config.run.group_readable);
  if (actors < 0) actors = config.actor.count;
  if (actors == 0) actors = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (actors > 4096)
    throw common::InvalidInput("--actors " + std::to_string(actors) +
                               " is out of range: must be in [0, 4096]");
  // The learner and every actor share this host: a model that cannot fit them all says so
  // before any process starts.
  common::CheckMemoryFits(config, 1, actors);
  if (!resume.empty()) run_dir = resume;
  const common::RunDir run =
      run_dir.empty() ? common::RunDir::ForConfig(config) : common::RunDir(run_dir);
  if (resume.empty() && run.HoldsRun()) {
    throw common::InvalidInput("run folder '" + run.path() +
                               "' already holds a run; pick another run.name or --run-dir");
  }
  // A folder a learner is running in is refused before anything is written into it.
  common::RunDirLock::CheckFree(run);
  fs::create_directories(run.logs());
  common::TightenRunFolder(run.path(), config.run.group_readable);
  run.WriteConfig(config);
  const std::string bin = ProgramDirectory();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::printf("rlrec train: run folder %s, 1 learner, %d actor(s)\n", run.path().c_str(), actors);
  std::fflush(stdout);

  // The learner learns the actor count from the launcher (synchronous updates wait for each).
  std::vector<std::string> learner_argv = {bin + "/rlrec-learner",
                                           "--config",
                                           run.config(),
                                           "--run-dir",
                                           run.path(),
                                           "--actor.count=" + std::to_string(actors)};
  if (!resume.empty()) learner_argv.push_back("--resume");
  ChildProcess learner(learner_argv, "",
                       /*capture=*/true);
  OutputRelay relay(learner.output_fd(), run.learner_log());

  // The learner binds free ports itself and writes its control endpoint when ready.
  ActorFleet fleet(bin, run);
  if (const std::string control = AwaitControlEndpoint(learner, relay, run); !control.empty()) {
    fleet.Start(actors, control);
  } else if (learner.running() && !g_signal) {
    std::fprintf(stderr, "rlrec train: the learner did not come up within %.0f s\n",
                 kLearnerStartTimeoutS);
    learner.Signal(SIGTERM);
  }
  BottleneckHint hint(run, actors);
  const int learner_status = SuperviseLearner(learner, relay, fleet, hint);
  fleet.Stop();

  std::printf("rlrec train: learner exited with status %d; run folder %s\n", learner_status,
              run.path().c_str());
  try {
    std::printf("rlrec train: curves in %s\n", PlotRun(run).c_str());
  } catch (const common::Error& e) {
    // The run itself is complete; a missing plot is worth a line, not a failure.
    std::printf("rlrec train: no curves drawn: %s\n", e.what());
  }
  return learner_status;
}

}  // namespace rlrec::launch
