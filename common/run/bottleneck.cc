#include "common/run/bottleneck.h"

#include <cmath>
#include <limits>

#include "common/base/json.h"
#include "common/run/metrics_fields.h"

namespace rlrec::common {
namespace {

std::string Percent(double share) {
  return std::to_string(static_cast<int>(std::lround(100 * share))) + "%";
}

}  // namespace

Diagnosis Diagnose(const TimeShares& s) {
  Diagnosis d;
  if (std::isnan(s.learner_wait)) return d;
  const bool actors_known = !std::isnan(s.actor_send_blocked);
  if (s.learner_wait >= kBoundShare) {
    // The learner starves. Its intake being busy all the while means decoding, not the
    // actors, is what it waits for.
    if (!std::isnan(s.learner_decode) && s.learner_decode >= 1 - kClearShare) {
      d.side = Bottleneck::kIntake;
      d.phrase = "intake-bound: learner decodes " + Percent(s.learner_decode);
    } else if (!actors_known || s.actor_send_blocked < kClearShare) {
      d.side = Bottleneck::kActors;
      d.phrase = "actor-bound: learner waits " + Percent(s.learner_wait);
    } else {
      d.side = Bottleneck::kBalanced;
    }
    return d;
  }
  if (actors_known && s.actor_send_blocked >= kBoundShare && s.learner_wait < kClearShare) {
    d.side = Bottleneck::kLearner;
    d.phrase = "learner-bound: actors blocked " + Percent(s.actor_send_blocked) + " on send";
    return d;
  }
  d.side = Bottleneck::kBalanced;
  return d;
}

TimeShares SharesOfRow(const std::string& row) {
  const auto get = [&](Metric field) {
    return JsonNumberField(row, NameOf(field)).value_or(std::numeric_limits<double>::quiet_NaN());
  };
  TimeShares s;
  s.learner_wait = get(Metric::kLearnerWaitShare);
  s.learner_decode = get(Metric::kLearnerDecodeShare);
  s.learner_compute = get(Metric::kDeviceBusyShare);
  s.learner_publish = get(Metric::kLearnerPublishShare);
  s.actor_simulate = get(Metric::kActorSimulateShare);
  s.actor_infer = get(Metric::kActorInferShare);
  s.actor_encode = get(Metric::kActorEncodeShare);
  s.actor_send_blocked = get(Metric::kActorSendBlockedShare);
  return s;
}

std::string Relief(Bottleneck side, int actors, int cores) {
  switch (side) {
    case Bottleneck::kLearner:
      return "the learner limits this run (its actors wait to send): give it a GPU "
             "(learner.device=cuda), more learner ranks (launch/mpi-train), or larger batches "
             "(learner.batch_trajectories), which cost less per trajectory";
    case Bottleneck::kActors:
      return "the actors limit this run (the learner waits for data): start more actors (" +
             std::to_string(actors) + " now on " + std::to_string(cores) +
             " cores: --actors, or actors on other hosts) or give each more users to batch "
             "(sim.users_per_actor)";
    case Bottleneck::kIntake:
      return "decoding trajectories limits this run (the learner's intake thread is busy all "
             "the time): fewer, larger messages help (actor.unroll, sim.users_per_actor), or "
             "more learner ranks, each with its own intake";
    default:
      return "";
  }
}

}  // namespace rlrec::common
