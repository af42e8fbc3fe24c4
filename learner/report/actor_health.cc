#include "learner/report/actor_health.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/base/error.h"
#include "common/run/actor_fields.h"

namespace rlrec::learner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// `part` seconds as a share of `whole`, in [0, 1].
double Share(double part, double whole) {
  return whole > 0 ? std::clamp(part / whole, 0.0, 1.0) : 0.0;
}

}  // namespace

ActorHealth::ActorHealth(const std::string& actors_path, double timeout_s, uint64_t rotate_bytes)
    : timeout_s_(timeout_s), path_(actors_path), rotate_bytes_(rotate_bytes) {
  if (path_.empty()) return;
  rows_ = std::make_unique<common::MetricsWriter>(path_);
  std::error_code error;
  const auto size = std::filesystem::file_size(path_, error);
  if (!error) bytes_ = size;
}

bool ActorHealth::Add(const common::ActorReport& report, uint64_t latest_version,
                      common::Clock::time_point now) {
  if (admitted_.count(report.actor_id)) return Take(report, latest_version, now);
  if (held_.size() >= kMaxHeld && !held_.count(report.actor_id)) {
    // The stalest goes: a flood of ids that never send a trajectory keeps nothing for long.
    auto stalest = held_.begin();
    for (auto it = held_.begin(); it != held_.end(); ++it) {
      if (it->second.received < stalest->second.received) stalest = it;
    }
    held_.erase(stalest);
    ++held_dropped_;
  }
  held_[report.actor_id] = Held{report, latest_version, now};
  return true;
}

void ActorHealth::Admit(const std::vector<uint32_t>& ids) {
  for (uint32_t id : ids) {
    if (!admitted_.insert(id).second) continue;
    auto held = held_.find(id);
    if (held == held_.end()) continue;
    const Held h = held->second;
    held_.erase(held);
    Take(h.report, h.latest_version, h.received);
  }
}

void ActorHealth::Restore(const std::vector<uint32_t>& ids) {
  admitted_.insert(ids.begin(), ids.end());
}

bool ActorHealth::Take(const common::ActorReport& report, uint64_t latest_version,
                       common::Clock::time_point now) {
  auto existing = actors_.find(report.actor_id);
  // Rates over the window since its previous report; since it joined after its first, or
  // after a restart (another process under the same id, or an uptime that went back).
  common::ActorReport before;
  if (existing != actors_.end() && existing->second.last.pid == report.pid &&
      existing->second.last.host == report.host &&
      report.uptime_s >= existing->second.last.uptime_s) {
    before = existing->second.last;
  }
  const double window_s = report.uptime_s - before.uptime_s;
  const double steps = double(report.env_steps) - double(before.env_steps);
  if (steps < 0 || (window_s > 0 ? steps / window_s : steps) > kMaxEnvStepsPerS) {
    ++refused_;
    if (refuse_log_.Allow()) {
      RLREC_LOG(Warning) << "refused a report of actor " << report.actor_id << " (" << report.host
                         << ", pid " << report.pid << "): " << steps << " env steps in " << window_s
                         << " s is impossible (" << refused_ << " refused so far)";
    }
    return false;
  }
  ActorState& actor = actors_[report.actor_id];
  const double unrolls = double(report.unrolls) - double(before.unrolls);
  if (window_s > 0) {
    actor.env_steps_per_s = steps / window_s;
    actor.simulate_share = Share(report.simulate_s - before.simulate_s, window_s);
    actor.infer_share = Share(report.infer_s - before.infer_s, window_s);
    actor.encode_share = Share(report.encode_s - before.encode_s, window_s);
    actor.send_blocked_share = Share(report.send_blocked_s - before.send_blocked_s, window_s);
    actor.infer_ms_per_unroll = unrolls > 0 ? 1e3 * (report.infer_s - before.infer_s) / unrolls : 0;
  }
  actor.lag =
      latest_version > report.snapshot_version ? latest_version - report.snapshot_version : 0;
  actor.last = report;
  actor.last_seen = now;
  actor.last_seen_unix = UnixNow();
  actor.left = report.leaving;
  if (actor.lost) {
    actor.lost = false;
    RLREC_LOG(Info) << "actor " << report.actor_id << " (" << report.host << ", pid " << report.pid
                    << ") reports again";
  }
  WriteRow(actor, report.leaving ? "leaving" : "alive");
  return true;
}

ActorsSummary ActorHealth::Check(common::Clock::time_point now) {
  ActorsSummary s;
  s.simulate_share = s.infer_share = s.encode_share = s.send_blocked_share = 0;
  for (auto held = held_.begin(); held != held_.end();) {
    const double age_s = std::chrono::duration<double>(now - held->second.received).count();
    if (age_s <= timeout_s_) {
      ++held;
      continue;
    }
    held = held_.erase(held);
    ++held_dropped_;
  }
  for (auto it = actors_.begin(); it != actors_.end();) {
    const double silent_s = std::chrono::duration<double>(now - it->second.last_seen).count();
    if ((it->second.lost || it->second.left) && silent_s > kForgetAfterTimeouts * timeout_s_) {
      it = actors_.erase(it);  // gone long ago: its row is in actors.jsonl, its count in lost_ever
    } else {
      ++it;
    }
  }
  for (auto& [id, actor] : actors_) {
    if (actor.left) continue;
    const double silent_s = std::chrono::duration<double>(now - actor.last_seen).count();
    if (silent_s > timeout_s_) {
      if (!actor.lost) {
        actor.lost = true;
        ++lost_ever_;
        if (lost_log_.Allow()) {
          RLREC_LOG(Warning) << "actor " << id << " (" << actor.last.host << ", pid "
                             << actor.last.pid << ") lost: no report for " << silent_s
                             << " s (run.actor_timeout_s " << timeout_s_ << "); " << lost_ever_
                             << " lost so far";
        }
        WriteRow(actor, "lost");
      }
      ++s.lost;
      continue;
    }
    ++s.alive;
    s.env_steps_per_s += actor.env_steps_per_s;
    s.simulate_share += actor.simulate_share;
    s.infer_share += actor.infer_share;
    s.encode_share += actor.encode_share;
    s.send_blocked_share += actor.send_blocked_share;
  }
  s.lost_ever = lost_ever_;
  for (double* share :
       {&s.simulate_share, &s.infer_share, &s.encode_share, &s.send_blocked_share}) {
    *share = s.alive > 0 ? *share / double(s.alive) : kNaN;
  }
  return s;
}

void ActorHealth::WriteRow(const ActorState& actor, const char* state) {
  if (path_.empty()) return;
  using F = common::ActorField;
  using common::NameOf;
  common::JsonObject row;
  row.AddFixed(NameOf(F::kTime), UnixNow(), 3)
      .Add(NameOf(F::kActorId), uint64_t{actor.last.actor_id})
      .Add(NameOf(F::kHost), actor.last.host)
      .Add(NameOf(F::kPid), uint64_t{actor.last.pid})
      .Add(NameOf(F::kState), state)
      .Add(NameOf(F::kUptimeS), actor.last.uptime_s)
      .Add(NameOf(F::kEnvSteps), actor.last.env_steps)
      .Add(NameOf(F::kEnvStepsPerS), actor.env_steps_per_s)
      .Add(NameOf(F::kSnapshotVersion), actor.last.snapshot_version)
      .Add(NameOf(F::kLag), actor.lag)
      .Add(NameOf(F::kSimulateShare), actor.simulate_share)
      .Add(NameOf(F::kInferShare), actor.infer_share)
      .Add(NameOf(F::kEncodeShare), actor.encode_share)
      .Add(NameOf(F::kSendBlockedShare), actor.send_blocked_share)
      .Add(NameOf(F::kInferMsPerUnroll), actor.infer_ms_per_unroll)
      .AddFixed(NameOf(F::kLastSeen), actor.last_seen_unix, 3);
  try {
    // Opened again after a rotation (or after an open that failed).
    if (!rows_) rows_ = std::make_unique<common::MetricsWriter>(path_);
    rows_->Write(row);
    bytes_ += row.str().size() + 1;
  } catch (const common::Error& e) {
    ++lost_rows_;
    if (write_log_.Allow())
      RLREC_LOG(Error) << "lost actors row " << lost_rows_ << ": " << e.what();
  }
  if (rotate_bytes_ > 0 && bytes_ > rotate_bytes_) Rotate();
}

void ActorHealth::Rotate() {
  const std::string previous = path_ + ".1";
  rows_.reset();
  if (std::rename(path_.c_str(), previous.c_str()) != 0) {
    const int error = errno;
    if (rotate_log_.Allow()) {
      RLREC_LOG(Error) << "cannot move '" << path_ << "' to '" << previous
                       << "': " << std::strerror(error) << "; its rows go on in it";
    }
  } else {
    bytes_ = 0;
  }
}

}  // namespace rlrec::learner
