#include "learner/report/metrics_exporter.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "common/base/error.h"
#include "common/run/actor_fields.h"
#include "common/run/metrics_fields.h"
#include "learner/report/metrics_rule.h"

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
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include "common/base/logging.h"
#endif

namespace rlrec::learner {

#ifdef RLREC_HAVE_PROMETHEUS
namespace {

constexpr char kSecondsSinceReport[] = "rlrec_actor_seconds_since_report";
constexpr char kActorUp[] = "rlrec_actor_up";

// Per-actor gauges: name, help. The fields of actors.jsonl that have one
// (common/run/actor_fields.h), then two that only Prometheus shows.
std::vector<std::pair<const char*, const char*>> ActorGauges() {
  std::vector<std::pair<const char*, const char*>> gauges;
  for (const auto& field : common::kActorFields) {
    if (field.prometheus) gauges.emplace_back(field.prometheus, field.help);
  }
  gauges.emplace_back(kSecondsSinceReport, "seconds since the actor's last report");
  gauges.emplace_back(kActorUp, "1 while the actor reports, 0 once lost or gone");
  return gauges;
}

// A listening TCP socket on `host`:`port`, non-blocking; throws Error(kUnavailable) saying why
// not.
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
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  std::string failed;
  if (fd < 0) {
    failed = std::string("socket: ") + std::strerror(errno);
  } else if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    failed = std::string("setsockopt: ") + std::strerror(errno);
  } else if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    failed = std::string("bind: ") + std::strerror(errno);
  } else if (::listen(fd, SOMAXCONN) != 0) {
    // A deep backlog: a burst of idle connections waits in the kernel, not in front of a
    // scrape's handshake.
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

std::string Base64(const std::string& bytes) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t word = uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) word |= uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) word |= uint32_t(static_cast<unsigned char>(bytes[i + 2]));
    out += kDigits[(word >> 18) & 63];
    out += kDigits[(word >> 12) & 63];
    out += i + 1 < bytes.size() ? kDigits[(word >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kDigits[word & 63] : '=';
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Whether `a` and `b` are equal, in a time that does not depend on where they differ.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    diff |= static_cast<unsigned char>(i < a.size() ? a[i] : 0) ^
            static_cast<unsigned char>(i < b.size() ? b[i] : 0);
  }
  return diff == 0;
}

// The Authorization header's value that run.metrics_auth_file's user:password calls for
// ("Basic " and its base64), checked as MetricsExporter's constructor says.
std::string ExpectedCredentials(const std::string& path) {
  const std::string what = "run.metrics_auth_file '" + path + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw common::InvalidInput(what + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw common::InvalidInput(what + " is not a file");
  if (st.st_uid != ::geteuid()) {
    throw common::InvalidInput(what + " belongs to user " + std::to_string(st.st_uid) +
                               ", not to the user the learner runs as");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw common::InvalidInput(what + " has mode " + mode +
                               ": a password file must be its owner's alone (chmod 600 it)");
  }
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  line = Trim(line);
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == line.size()) {
    throw common::InvalidInput(what + " must hold user:password on its first line");
  }
  return Base64(line);
}

// The parts of an HTTP request the endpoint looks at.
struct Request {
  std::string path;         // of a GET; "" for anything else
  std::string credentials;  // the Authorization header's basic credentials (base64), if any
};

Request ParseRequest(const std::string& bytes) {
  Request r;
  std::istringstream lines(bytes.substr(0, bytes.find("\r\n\r\n")));
  std::string line;
  std::getline(lines, line);
  if (line.rfind("GET ", 0) == 0) {
    const size_t end = line.find(' ', 4);
    if (end != std::string::npos) r.path = line.substr(4, end - 4);
  }
  while (std::getline(lines, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos || Lower(Trim(line.substr(0, colon))) != "authorization") {
      continue;
    }
    const std::string value = Trim(line.substr(colon + 1));
    if (Lower(value.substr(0, 6)) == "basic ") r.credentials = Trim(value.substr(6));
  }
  return r;
}

std::string HttpResponse(const char* status, const char* type, const std::string& body,
                         const std::string& headers = "") {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + headers +
         "Connection: close\r\n\r\n" + body;
}

// One client of the endpoint: reading its request until `deadline`, then sending `answer`.
struct Connection {
  int fd = -1;
  common::Clock::time_point accepted;
  common::Deadline deadline;
  std::string request;  // received so far, at most kMaxRequestBytes
  std::string answer;   // not empty once the request is whole
  size_t sent = 0;
  bool answering() const { return !answer.empty(); }
};

}  // namespace

struct MetricsExporter::State {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // The listening socket and the thread that answers scrapes (Serve): every connection polled
  // at once, each within its deadlines, so no client delays another's scrape.
  int listen_fd = -1;
  std::string credentials;  // expected basic credentials (base64); empty: no authentication
  std::atomic<bool> stopping{false};
  std::thread server;
  // The server thread's own.
  std::vector<Connection> open;
  uint64_t refused_requests = 0, unauthorized = 0, dropped = 0;
  common::LogLimiter log_limiter, auth_limiter, drop_limiter;
  common::Clock::time_point accept_again{};  // out of descriptors: no accept before then

  // The answer to a whole request.
  std::string Answer(const std::string& bytes) {
    const Request request = ParseRequest(bytes);
    if (!credentials.empty() && !SameSecret(request.credentials, credentials)) {
      ++unauthorized;
      if (auth_limiter.Allow()) {
        RLREC_LOG(Warning) << "metrics endpoint: refused a request without valid credentials ("
                           << unauthorized << " so far; run.metrics_auth_file)";
      }
      return HttpResponse("401 Unauthorized", "text/plain", "credentials required\n",
                          "WWW-Authenticate: Basic realm=\"rlrec\", charset=\"UTF-8\"\r\n");
    }
    const std::string& path = request.path;
    if (path == "/metrics" || path.rfind("/metrics?", 0) == 0) {
      std::ostringstream body;
      prometheus::TextSerializer().Serialize(body, registry->Collect());
      return HttpResponse("200 OK", "text/plain; version=0.0.4; charset=utf-8", body.str());
    }
    ++refused_requests;
    if (log_limiter.Allow()) {
      RLREC_LOG(Warning) << "metrics endpoint: refused a request for '" << common::Printable(path)
                         << "' (" << refused_requests << " so far; only GET /metrics is served)";
    }
    return HttpResponse("404 Not Found", "text/plain", "only /metrics is served here\n");
  }

  void Close(Connection& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
  }

  // Drops `c` before it was answered: too slow, too large, or pushed out by a newer client.
  void Drop(Connection& c, const char* why) {
    Close(c);
    ++dropped;
    if (drop_limiter.Allow()) {
      const uint64_t held_back = drop_limiter.TakeSuppressed();
      RLREC_LOG(Warning) << "metrics endpoint: dropped a client (" << why << "; " << dropped
                         << " so far"
                         << (held_back ? ", " + std::to_string(held_back) + " not logged" : "")
                         << ")";
    }
  }

  // Reads what `c` sent and sends what it can of its answer, without waiting; closes it once
  // answered or gone.
  void Progress(Connection& c, common::Clock::time_point now) {
    while (!c.answering()) {
      char buf[2048];
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) return Close(c);  // gone
      c.request.append(buf, static_cast<size_t>(n));
      if (c.request.find("\r\n\r\n") != std::string::npos) {
        c.answer = Answer(c.request);
        c.deadline = now + std::chrono::duration_cast<common::Clock::duration>(
                               std::chrono::duration<double>(kAnswerDeadlineS));
      } else if (c.request.size() >= kMaxRequestBytes) {
        return Drop(c, "a request past 8 KiB");
      }
    }
    while (c.sent < c.answer.size()) {
      const ssize_t n =
          ::send(c.fd, c.answer.data() + c.sent, c.answer.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) return Close(c);
      c.sent += static_cast<size_t>(n);
    }
    Close(c);  // answered whole
  }

  // Takes the connections waiting to be accepted (a bounded number per round), each served at
  // once if its request is there; past kMaxConnections the oldest still reading goes.
  void AcceptWaiting(common::Clock::time_point now) {
    for (int round = 0; round < 1024; ++round) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          accept_again = now + std::chrono::milliseconds(50);
          if (drop_limiter.Allow()) {
            RLREC_LOG(Warning) << "metrics endpoint: cannot accept: " << std::strerror(errno);
          }
        }
        return;
      }
      Connection c;
      c.fd = fd;
      c.accepted = now;
      c.deadline = now + std::chrono::duration_cast<common::Clock::duration>(
                             std::chrono::duration<double>(kRequestDeadlineS));
      Progress(c, now);
      if (c.fd < 0) continue;  // answered already
      if (open.size() >= kMaxConnections) {
        auto oldest = open.begin();
        for (auto it = open.begin(); it != open.end(); ++it) {
          const bool better = (it->answering() == oldest->answering())
                                  ? it->accepted < oldest->accepted
                                  : !it->answering();
          if (better) oldest = it;
        }
        Drop(*oldest, "more than 64 connections at once: the oldest goes");
        open.erase(oldest);
      }
      open.push_back(std::move(c));
    }
  }

  // Data path: poll(listen + every client) → accept (answer at once when the request is
  // there) → read requests → answer → send → close; clients past their deadlines dropped.
  void Serve() {
    std::vector<pollfd> fds;
    while (!stopping.load()) {
      auto now = common::Clock::now();
      for (Connection& c : open) {
        if (now >= c.deadline) {
          Drop(c,
               c.answering() ? "its answer not taken within 5 s" : "no whole request within 1 s");
        }
      }
      open.erase(std::remove_if(open.begin(), open.end(), [](const auto& c) { return c.fd < 0; }),
                 open.end());
      common::Deadline wake = now + std::chrono::milliseconds(100);
      fds.clear();
      fds.push_back({listen_fd, static_cast<short>(now >= accept_again ? POLLIN : 0), 0});
      for (const Connection& c : open) {
        fds.push_back({c.fd, static_cast<short>(c.answering() ? POLLOUT : POLLIN), 0});
        wake = std::min(wake, c.deadline);
      }
      if (now < accept_again) wake = std::min(wake, accept_again);
      const int ms = static_cast<int>(std::max<long>(1, common::MillisLeft(wake)));
      const int rc = ::poll(fds.data(), fds.size(), ms);
      if (rc < 0 && errno != EINTR) {
        RLREC_LOG(Error) << "metrics endpoint: poll: " << std::strerror(errno);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (rc <= 0) continue;
      now = common::Clock::now();
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0) Progress(open[i - 1], now);
      }
      open.erase(std::remove_if(open.begin(), open.end(), [](const auto& c) { return c.fd < 0; }),
                 open.end());
      if (fds[0].revents & POLLIN) AcceptWaiting(now);
    }
    for (Connection& c : open) Close(c);
    open.clear();
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

MetricsExporter::MetricsExporter(const std::string& host, int port, const std::string& auth_file)
    : state_(std::make_unique<State>()) {
  const std::string bind_host = host == "*" ? "0.0.0.0" : host;
  if (!auth_file.empty()) state_->credentials = ExpectedCredentials(auth_file);
  int bound = 0;
  state_->listen_fd = Listen(bind_host, port, &bound);
  url_ = "http://" + bind_host + ":" + std::to_string(bound) + "/metrics";
  for (const auto& [name, help] : ActorGauges()) {
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
    // A field of the table (common/run/metrics_fields.h), with the name and help it declares;
    // one the table does not know (a newer row's) as a gauge.
    const common::MetricsField* known = common::FindMetric(field);
    if (known && !known->exported) continue;
    // Its help, needed once: when the field's family is registered.
    const auto help = [&]() -> std::string {
      if (!known) return "metrics.jsonl field " + field + " at the last report";
      if (*known->unit == '\0') return known->help;
      return std::string(known->help) + " (" + known->unit + ")";
    };
    if (known && known->counter) {
      auto it = s.counters.find(field);
      if (it == s.counters.end()) {
        auto& family =
            prometheus::BuildCounter().Name(known->counter).Help(help()).Register(*s.registry);
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
      auto& family =
          prometheus::BuildGauge().Name("rlrec_" + field).Help(help()).Register(*s.registry);
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
      for (const auto& [name, family] : s.actor_families) a.gauges[name] = &family->Add(labels);
      for (const auto& [id, phase] : common::kActorPhases) {
        auto phase_labels = labels;
        phase_labels["phase"] = phase;
        a.phases[phase] = &s.phase_family->Add(phase_labels);
      }
    }
    // What actors report passes the metrics rule too (learner/report/metrics_rule.h): a value no
    // actor can produce is no value (NaN).
    using F = common::ActorField;
    using P = common::ActorPhase;
    const auto set = [&](F field, double value) {
      const common::ActorFieldSpec& spec = common::FieldOf(field);
      a.gauges[spec.prometheus]->Set(Checked(value, spec.kind));
    };
    set(F::kEnvSteps, double(actor.last.env_steps));
    set(F::kEnvStepsPerS, actor.env_steps_per_s);
    set(F::kInferMsPerUnroll, actor.infer_ms_per_unroll);
    set(F::kSnapshotVersion, double(actor.last.snapshot_version));
    set(F::kLag, double(actor.lag));
    a.gauges[kSecondsSinceReport]->Set(
        Checked(std::chrono::duration<double>(now - actor.last_seen).count(), FieldKind::kSeconds));
    a.gauges[kActorUp]->Set(actor.lost || actor.left ? 0 : 1);
    for (const auto& [phase, share] : {std::pair{P::kSimulate, actor.simulate_share},
                                       {P::kInfer, actor.infer_share},
                                       {P::kEncode, actor.encode_share},
                                       {P::kSendBlocked, actor.send_blocked_share}}) {
      a.phases[common::NameOf(phase)]->Set(Checked(share, FieldKind::kShare));
    }
  }
}

#else  // built without prometheus-cpp

struct MetricsExporter::State {};

MetricsExporter::MetricsExporter(const std::string& host, int port, const std::string&) {
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
