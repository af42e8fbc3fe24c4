#ifndef RLREC_LEARNER_REPORT_METRICS_EXPORTER_H_
#define RLREC_LEARNER_REPORT_METRICS_EXPORTER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/base/deadline.h"
#include "common/base/json.h"
#include "learner/report/actor_health.h"

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
//
// No client can hold the endpoint hostage: its thread polls every connection at once
// (non-blocking sockets), keeps at most kMaxConnections (a new one past that closes the
// oldest still reading its request), drops a client that has not sent its whole request
// (at most kMaxRequestBytes) within kRequestDeadlineS of connecting or not taken its answer
// within kAnswerDeadlineS, and answers a request that arrives whole with its connection at
// once. So a scrape is answered within a second while a thousand idle or byte-at-a-time
// clients are connected, in memory bounded by kMaxConnections x (request + answer).
class MetricsExporter {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr double kRequestDeadlineS = 1;
  static constexpr double kAnswerDeadlineS = 5;

  // Listens on `host`:`port` ("*" or 0.0.0.0: every interface; port 0: a free one) and starts
  // answering GET /metrics (anything else gets 404, logged). With `auth_file`
  // (run.metrics_auth_file), every request must carry HTTP basic authentication with the
  // user:password its first line holds; one without gets 401 and a WWW-Authenticate
  // challenge. Throws Error(kInvalidInput) when the file is missing, not the user's own,
  // readable or writable by others (group included), or holds no user:password;
  // Error(kUnavailable) when it cannot listen, or when this build has no prometheus-cpp.
  MetricsExporter(const std::string& host, int port, const std::string& auth_file = "");
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

#endif  // RLREC_LEARNER_REPORT_METRICS_EXPORTER_H_
