#include "learner/metrics_exporter.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "common/error.h"
#include "learner/metrics_rule.h"

#ifdef RLREC_HAVE_PROMETHEUS
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "common/logging.h"
#endif

namespace rlrec::learner {

#ifdef RLREC_HAVE_PROMETHEUS
namespace {

// Metrics fields that are running totals: exported as counters under these names.
constexpr std::pair<const char*, const char*> kCounters[] = {
    {"update", "rlrec_updates_total"},
    {"env_steps", "rlrec_env_steps_total"},
    {"trajectories_received", "rlrec_trajectories_total"},
    {"decode_errors", "rlrec_decode_errors_total"},
    {"dropped_stale", "rlrec_dropped_stale_total"},
    {"future_versions", "rlrec_future_versions_total"},
    {"skipped_updates", "rlrec_skipped_updates_total"},
    {"failed_checkpoints", "rlrec_failed_checkpoints_total"},
    {"actors_lost_total", "rlrec_actors_lost_total"},
};
// Fields that say nothing to a dashboard.
constexpr const char* kNotExported[] = {"final", "wall_time"};

const char* CounterName(const std::string& field) {
  for (const auto& [name, counter] : kCounters) {
    if (field == name) return counter;
  }
  return nullptr;
}

// Per-actor gauges: name, help.
constexpr std::pair<const char*, const char*> kActorGauges[] = {
    {"rlrec_actor_env_steps", "environment steps the actor has sent since it started"},
    {"rlrec_actor_env_steps_per_second", "the actor's environment steps per second"},
    {"rlrec_actor_inference_ms", "milliseconds of policy inference per unroll"},
    {"rlrec_actor_snapshot_version", "the snapshot the actor acts with"},
    {"rlrec_actor_policy_lag", "snapshots the actor is behind the lead's newest"},
    {"rlrec_actor_seconds_since_report", "seconds since the actor's last report"},
    {"rlrec_actor_up", "1 while the actor reports, 0 once lost or gone"},
};
constexpr const char* kPhases[] = {"simulate", "infer", "encode", "send_blocked"};

// How long one scrape may take to send its request, and to be answered; a client slower than
// this is dropped.
constexpr double kScrapeDeadlineS = 2;
constexpr size_t kMaxRequestBytes = 8192;

// A listening TCP socket on `host`:`port`; throws Error(kUnavailable) saying why not.
int Listen(const std::string& host, int port, int* bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found)) {
    throw common::Unavailable("cannot serve metrics on " + where + ": " + ::gai_strerror(rc));
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  std::string failed;
  if (fd < 0) {
    failed = std::string("socket: ") + std::strerror(errno);
  } else if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    failed = std::string("setsockopt: ") + std::strerror(errno);
  } else if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    failed = std::string("bind: ") + std::strerror(errno);
  } else if (::listen(fd, 16) != 0) {
    failed = std::string("listen: ") + std::strerror(errno);
  }
  ::freeaddrinfo(found);
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  if (failed.empty() && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    failed = std::string("getsockname: ") + std::strerror(errno);
  }
  if (!failed.empty()) {
    if (fd >= 0) ::close(fd);
    throw common::Unavailable("cannot serve metrics on " + where + ": " + failed);
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool WaitFor(int fd, short events, common::Deadline deadline) {
  while (true) {
    const int ms = common::MillisLeft(deadline);
    if (ms <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, ms);
    if (rc > 0) return (p.revents & events) != 0;
    if (rc == 0 || errno != EINTR) return false;
  }
}

// Sends all of `bytes` before `deadline`; false when the client is gone or too slow.
bool SendAll(int fd, const std::string& bytes, common::Deadline deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    if (!WaitFor(fd, POLLOUT, deadline)) return false;
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) return false;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  return true;
}

// The request line's path of an HTTP request read from `fd` before `deadline`, or "" when
// none came whole (too slow, too large, not HTTP).
std::string ReadRequestPath(int fd, common::Deadline deadline) {
  std::string request;
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    if (!WaitFor(fd, POLLIN, deadline)) return "";
    char buf[1024];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return "";
    }
    request.append(buf, static_cast<size_t>(n));
  }
  if (request.rfind("GET ", 0) != 0) return "";
  const size_t end = request.find(' ', 4);
  return end == std::string::npos ? "" : request.substr(4, end - 4);
}

std::string HttpResponse(const char* status, const char* type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

struct MetricsExporter::State {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // The listening socket and the thread that answers scrapes, one connection at a time, each
  // within kScrapeDeadlineS: a hung client delays a scrape, never training.
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread server;
  uint64_t refused_requests = 0;
  common::LogLimiter log_limiter;

  void Serve() {
    while (!stopping.load()) {
      if (!WaitFor(listen_fd, POLLIN, common::After(0.1))) continue;
      const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const common::Deadline deadline = common::After(kScrapeDeadlineS);
      const std::string path = ReadRequestPath(client, deadline);
      std::string response;
      if (path == "/metrics" || path.rfind("/metrics?", 0) == 0) {
        std::ostringstream body;
        prometheus::TextSerializer().Serialize(body, registry->Collect());
        response = HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", body.str());
      } else {
        ++refused_requests;
        if (log_limiter.Allow()) {
          RLREC_LOG(Warning) << "metrics endpoint: refused a request for '"
                             << common::Printable(path) << "' (" << refused_requests
                             << " so far; only GET /metrics is served)";
        }
        response = HttpResponse("404 Not Found", "text/plain", "only /metrics is served here\n");
      }
      SendAll(client, response, deadline);
      ::close(client);
    }
  }

  std::map<std::string, prometheus::Counter*> counters;
  std::map<std::string, double> counted;  // each counter's total so far
  std::map<std::string, prometheus::Gauge*> gauges;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> actor_families;
  prometheus::Family<prometheus::Gauge>* phase_family = nullptr;
  // Per actor id: its labels and its gauges (by family name, then phase).
  struct Actor {
    std::string host;
    std::map<std::string, prometheus::Gauge*> gauges;
    std::map<std::string, prometheus::Gauge*> phases;
  };
  std::map<uint32_t, Actor> actors;

  void RemoveActor(uint32_t id) {
    auto it = actors.find(id);
    if (it == actors.end()) return;
    for (auto& [family, gauge] : it->second.gauges) actor_families[family]->Remove(gauge);
    for (auto& [phase, gauge] : it->second.phases) phase_family->Remove(gauge);
    actors.erase(it);
  }
};

MetricsExporter::MetricsExporter(const std::string& host, int port)
    : state_(std::make_unique<State>()) {
  const std::string bind_host = host == "*" ? "0.0.0.0" : host;
  int bound = 0;
  state_->listen_fd = Listen(bind_host, port, &bound);
  url_ = "http://" + bind_host + ":" + std::to_string(bound) + "/metrics";
  for (const auto& [name, help] : kActorGauges) {
    state_->actor_families[name] =
        &prometheus::BuildGauge().Name(name).Help(help).Register(*state_->registry);
  }
  state_->phase_family = &prometheus::BuildGauge()
                              .Name("rlrec_actor_time_share")
                              .Help("share of the actor's time in each phase")
                              .Register(*state_->registry);
  state_->server = std::thread([state = state_.get()] { state->Serve(); });
}

MetricsExporter::~MetricsExporter() {
  state_->stopping.store(true);
  if (state_->server.joinable()) state_->server.join();
  if (state_->listen_fd >= 0) ::close(state_->listen_fd);
}

bool MetricsExporter::Available() { return true; }

void MetricsExporter::Update(const common::JsonObject& row) {
  State& s = *state_;
  for (const auto& [field, value] : row.numbers()) {
    bool skip = false;
    for (const char* name : kNotExported) skip |= field == name;
    if (skip) continue;
    if (const char* counter = CounterName(field)) {
      auto it = s.counters.find(field);
      if (it == s.counters.end()) {
        auto& family = prometheus::BuildCounter()
                           .Name(counter)
                           .Help("the run's " + field + " so far (metrics.jsonl)")
                           .Register(*s.registry);
        it = s.counters.emplace(field, &family.Add({})).first;
      }
      double& counted = s.counted[field];
      if (std::isfinite(value) && value > counted) {
        it->second->Increment(value - counted);
        counted = value;
      }
      continue;
    }
    auto it = s.gauges.find(field);
    if (it == s.gauges.end()) {
      auto& family = prometheus::BuildGauge()
                         .Name("rlrec_" + field)
                         .Help("metrics.jsonl field " + field + " at the last report")
                         .Register(*s.registry);
      it = s.gauges.emplace(field, &family.Add({})).first;
    }
    it->second->Set(value);
  }
}

void MetricsExporter::UpdateActors(const std::map<uint32_t, ActorState>& actors,
                                   common::Clock::time_point now) {
  State& s = *state_;
  for (auto it = s.actors.begin(); it != s.actors.end();) {
    const uint32_t id = it->first;
    ++it;
    auto known = actors.find(id);
    if (known == actors.end() || known->second.last.host != s.actors[id].host) s.RemoveActor(id);
  }
  for (const auto& [id, actor] : actors) {
    auto [it, fresh] = s.actors.try_emplace(id);
    State::Actor& a = it->second;
    const prometheus::Labels labels = {{"actor", std::to_string(id)}, {"host", actor.last.host}};
    if (fresh) {
      a.host = actor.last.host;
      for (const auto& [name, help] : kActorGauges)
        a.gauges[name] = &s.actor_families[name]->Add(labels);
      for (const char* phase : kPhases) {
        auto phase_labels = labels;
        phase_labels["phase"] = phase;
        a.phases[phase] = &s.phase_family->Add(phase_labels);
      }
    }
    // What actors report passes the metrics rule too (learner/metrics_rule.h): a value no
    // actor can produce is no value (NaN).
    using K = FieldKind;
    a.gauges["rlrec_actor_env_steps"]->Set(Checked(double(actor.last.env_steps), K::kCount));
    a.gauges["rlrec_actor_env_steps_per_second"]->Set(Checked(actor.env_steps_per_s, K::kRate));
    a.gauges["rlrec_actor_inference_ms"]->Set(Checked(actor.infer_ms_per_unroll, K::kSeconds));
    a.gauges["rlrec_actor_snapshot_version"]->Set(
        Checked(double(actor.last.snapshot_version), K::kCount));
    a.gauges["rlrec_actor_policy_lag"]->Set(Checked(double(actor.lag), K::kCount));
    a.gauges["rlrec_actor_seconds_since_report"]->Set(
        Checked(std::chrono::duration<double>(now - actor.last_seen).count(), K::kSeconds));
    a.gauges["rlrec_actor_up"]->Set(actor.lost || actor.left ? 0 : 1);
    a.phases["simulate"]->Set(Checked(actor.simulate_share, K::kShare));
    a.phases["infer"]->Set(Checked(actor.infer_share, K::kShare));
    a.phases["encode"]->Set(Checked(actor.encode_share, K::kShare));
    a.phases["send_blocked"]->Set(Checked(actor.send_blocked_share, K::kShare));
  }
}

#else  // built without prometheus-cpp

struct MetricsExporter::State {};

MetricsExporter::MetricsExporter(const std::string& host, int port) {
  throw common::Unavailable("run.metrics_port " + std::to_string(port) + " on " + host +
                            ": this rlrec was built without prometheus-cpp (Debian's "
                            "prometheus-cpp-dev; launch/setup installs it)");
}
MetricsExporter::~MetricsExporter() = default;
bool MetricsExporter::Available() { return false; }
void MetricsExporter::Update(const common::JsonObject&) {}
void MetricsExporter::UpdateActors(const std::map<uint32_t, ActorState>&,
                                   common::Clock::time_point) {}

#endif

}  // namespace rlrec::learner
