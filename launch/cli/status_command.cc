#include "launch/cli/status_command.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "common/base/check.h"
#include "common/base/error.h"
#include "common/base/json.h"
#include "common/config/config.h"
#include "common/run/actor_fields.h"
#include "common/run/bottleneck.h"
#include "common/run/metrics_fields.h"
#include "common/run/run_folder.h"

namespace rlrec::launch {
namespace {

using F = common::ActorField;
using M = common::Metric;

namespace fs = std::filesystem;

std::string Fixed(double x, int decimals = 1) {
  if (std::isnan(x)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, x);
  return buf;
}

std::string Percent(double share) {
  return std::isnan(share) ? "-" : std::to_string(static_cast<int>(std::lround(100 * share))) + "%";
}

// The text value of "key" in a flat JSON row, or "".
std::string JsonText(const std::string& row, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const size_t at = row.find(needle);
  if (at == std::string::npos) return "";
  const size_t start = at + needle.size();
  const size_t end = row.find('"', start);
  return end == std::string::npos ? "" : row.substr(start, end - start);
}

double Field(const std::string& row, const char* key) {
  return common::JsonNumberField(row, key).value_or(std::nan(""));
}

// Field `field` of a metrics row (common/run/metrics_fields.h), or NaN.
double Field(const std::string& row, common::Metric field) {
  return Field(row, common::NameOf(field));
}

// The seconds between reports the run was configured with (config.ini), 2 when unreadable.
double ReportEverySeconds(const common::RunDir& run) {
  try {
    const std::string config = run.config();
    const char* argv[] = {"rlrec status", "--config", config.c_str()};
    auto parsed = common::ParseArgs(3, argv, "rlrec status", "RUN");
    if (parsed) return parsed->config.run.report_every_s;
  } catch (const std::exception&) {
  }
  return 2;
}

std::string ActorLines(const common::RunDir& run, double now_unix, bool live) {
  std::map<uint64_t, std::string> newest;  // by actor id
  // actors.jsonl.1 (moved aside past run.actors_log_mb) first: an actor silent since then has
  // its last row there; the current file's rows replace the older ones.
  for (const std::string& path : {run.actors_previous(), run.actors()}) {
    for (const auto& row : common::TailLines(path, 4 << 20)) {
      const double id = Field(row, common::NameOf(F::kActorId));
      if (!std::isnan(id)) newest[static_cast<uint64_t>(id)] = row;
    }
  }
  if (newest.empty()) return "actors: no reports (actors.jsonl is empty or missing)\n";
  std::map<std::string, int> states;
  std::string lines;
  for (const auto& [id, row] : newest) {
    const std::string state = JsonText(row, common::NameOf(F::kState));
    ++states[state];
    lines += "  actor " + std::to_string(id) + "  " + JsonText(row, common::NameOf(F::kHost)) +
             "  pid " + Fixed(Field(row, common::NameOf(F::kPid)), 0) + "  " + state + "  " +
             Fixed(Field(row, common::NameOf(F::kEnvStepsPerS)), 0) + " env steps/s  snapshot " +
             Fixed(Field(row, common::NameOf(F::kSnapshotVersion)), 0) + " (lag " +
             Fixed(Field(row, common::NameOf(F::kLag)), 0) + ")  blocked on send " +
             Percent(Field(row, common::NameOf(F::kSendBlockedShare))) + "  last seen " +
             Fixed(now_unix - Field(row, common::NameOf(F::kLastSeen))) + " s ago\n";
  }
  std::string head = "actors: " + std::to_string(newest.size()) + " reported (";
  bool first = true;
  for (const auto& [state, n] : states) {
    head += (first ? "" : ", ") + std::to_string(n) + " " + state;
    first = false;
  }
  return head +
         (live ? "; states as of each actor's last row)\n"
               : " as of their last rows; the run is not running now)\n") +
         lines;
}

std::string CheckpointLines(const common::RunDir& run) {
  const auto checkpoints = common::ListCheckpoints(run.checkpoints());
  std::string out = "checkpoints: " + std::to_string(checkpoints.size());
  if (!checkpoints.empty()) {
    const auto& newest = checkpoints.back();
    out += " (newest " + fs::path(newest.path).filename().string() + ", update " +
           std::to_string(newest.update) + ", " + Fixed(newest.age_s, 0) + " s old, " +
           Fixed(newest.bytes / 1e6) + " MB)";
  }
  out += fs::exists(run.final_checkpoint()) ? "; final.pt present\n" : "; no final.pt\n";
  return out;
}

// Who holds the run folder's lock, as the lead learner wrote it ("pid 12 on host since ..."),
// or "" when no learner does (a finished run's lock is empty).
std::string LockHolder(const common::RunDir& run) {
  const auto lines = common::TailLines(run.lock(), 4096);
  return lines.empty() ? "" : lines.back();
}

// Whether the learner `holder` names is alive: known only on its own host (nullopt elsewhere,
// or when there is no holder).
std::optional<bool> HolderAlive(const std::string& holder) {
  unsigned long pid = 0;
  char host[256] = "";
  if (std::sscanf(holder.c_str(), "pid %lu on %255s", &pid, host) != 2 || pid == 0) {
    return std::nullopt;
  }
  if (host != common::HostName()) return std::nullopt;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string DescribeRun(const common::RunDir& run) {
  if (!fs::exists(run.metrics())) {
    throw common::InvalidInput("'" + run.path() + "' holds no run (no " + run.metrics() + ")");
  }
  const auto rows = common::TailLines(run.metrics(), 1 << 20);
  const std::string last = rows.empty() ? "" : rows.back();
  const double now_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double row_age = common::FileAgeSeconds(run.metrics());
  const bool endpoint = fs::exists(run.control_endpoint());
  const double stale_after = std::max(30.0, 5 * ReportEverySeconds(run));
  const std::string holder = LockHolder(run);
  const std::optional<bool> alive = HolderAlive(holder);
  std::string state;
  if (Field(last, M::kFinal) == 1) {
    state = "finished";
  } else if (alive == false) {
    state = "stopped without finishing (its learner, " + holder +
            ", is gone; rlrec train --resume " + run.path() +
            " continues from the newest checkpoint)";
  } else if (alive == true || (endpoint && row_age <= stale_after)) {
    state = row_age <= stale_after ? "running"
                                   : "running, but no row for " + Fixed(row_age, 0) + " s (hung?)";
    if (!holder.empty()) state += " (learner " + holder + ")";
  } else if (endpoint) {
    state = "not responding: no row for " + Fixed(row_age, 0) +
            " s (hung, or killed without cleaning up; rlrec train --resume " + run.path() +
            " continues from the newest checkpoint)";
  } else {
    state = "stopped without finishing (crashed or killed; rlrec train --resume " + run.path() +
            " continues from the newest checkpoint)";
  }
  std::string out = "run " + run.path() + ": " + state + "\n";
  if (last.empty()) return out + "no rows yet\n";
  const common::TimeShares shares = common::SharesOfRow(last);
  out += "last row (" + Fixed(row_age, 0) + " s ago): update " + Fixed(Field(last, M::kUpdate), 0) +
         "  env_steps " + Fixed(Field(last, M::kEnvSteps), 0) + " (" +
         Fixed(Field(last, M::kEnvStepsPerS), 0) + "/s)  mean_return " +
         Fixed(Field(last, M::kMeanReturn), 2) + "  lag " +
         Fixed(Field(last, M::kPolicyLagMin), 0) + "/" + Fixed(Field(last, M::kPolicyLagMean), 2) +
         "/" + Fixed(Field(last, M::kPolicyLagMax), 0) + "  " + common::NameOf(M::kDecodeErrors) +
         " " + Fixed(Field(last, M::kDecodeErrors), 0) + "  actors alive " +
         Fixed(Field(last, M::kActorsAlive), 0) + ", lost " +
         Fixed(Field(last, M::kActorsLost), 0) + "\n";
  out += "time: learner waits " + Percent(shares.learner_wait) + ", decodes " +
         Percent(shares.learner_decode) + ", computes " + Percent(shares.learner_compute) +
         ", publishes " + Percent(shares.learner_publish) + "; actors simulate " +
         Percent(shares.actor_simulate) + ", infer " + Percent(shares.actor_infer) + ", encode " +
         Percent(shares.actor_encode) + ", blocked on send " + Percent(shares.actor_send_blocked) +
         "\n";
  const common::Diagnosis diagnosis = common::Diagnose(shares);
  out += "bottleneck: " +
         (diagnosis.phrase.empty()
              ? std::string(diagnosis.side == common::Bottleneck::kBalanced ? "none clear"
                                                                            : "not known")
              : diagnosis.phrase) +
         "\n";
  out += ActorLines(run, now_unix, state.rfind("running", 0) == 0);
  out += CheckpointLines(run);
  if (fs::exists(run.tensorboard()))
    out += "tensorboard: tensorboard --logdir " + run.tensorboard() + "\n";
  if (const auto lines = common::TailLines(run.metrics_endpoint()); !lines.empty()) {
    out += "prometheus: " + lines.back() + "\n";
  }
  return out;
}

int StatusCommand(int argc, const char* const* argv) {
  if (argc != 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << "usage: rlrec status RUN\n\n"
                 "Prints the state of the run in folder RUN from its files (live or finished, "
                 "local or on a shared filesystem): running, finished or stopped; its last "
                 "progress row and bottleneck; its actors; its checkpoints.\n";
    return argc == 2 ? 0 : 2;
  }
  const common::RunDir run(argv[1]);
  const std::string text = DescribeRun(run);
  std::cout << text;
  return text.find("stopped without finishing") != std::string::npos ? 3 : 0;
}

}  // namespace rlrec::launch
