#ifndef RLREC_LEARNER_METRICS_EXPORTER_H_
#define RLREC_LEARNER_METRICS_EXPORTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/deadline.h"
#include "common/metrics.h"
#include "learner/actor_health.h"

namespace rlrec::learner {

// The lead learner's Prometheus endpoint: http://HOST:PORT/metrics in the Prometheus text
// format, refreshed at each report. The metrics live in a prometheus-cpp registry (core), and
// a thread of this object answers scrapes itself: prometheus-cpp's own server (civetweb)
// starts its threads with a 100 KiB stack, which a process holding LibTorch's thread-local
// storage cannot create. The run's totals are counters
// (rlrec_updates_total, rlrec_env_steps_total, rlrec_trajectories_total,
// rlrec_decode_errors_total, ...), every other numeric metrics field a gauge rlrec_<field>;
// each actor's health comes as gauges labelled actor="ID",host="HOST" (rlrec_actor_*): the
// lead aggregates what its actors report over control, so one scrape target covers the run.
class MetricsExporter {
 public:
  // Listens on `host`:`port` ("*" or 0.0.0.0: every interface; port 0: a free one) and starts
  // answering GET /metrics (anything else gets 404, logged). Throws Error(kUnavailable) when it
  // cannot, or when this build has no prometheus-cpp.
  MetricsExporter(const std::string& host, int port);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  // Where it serves: http://HOST:PORT/metrics, with the port actually bound.
  const std::string& url() const { return url_; }

  // Takes the values of one metrics row (null fields become NaN gauges).
  void Update(const common::JsonObject& row);
  // Takes the actors' states as of `now`; actors no longer known are dropped.
  void UpdateActors(const std::map<uint32_t, ActorState>& actors, common::Clock::time_point now);

  // Whether this build can serve metrics (built with prometheus-cpp).
  static bool Available();

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string url_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_METRICS_EXPORTER_H_
