#include "learner/report/metrics_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace rlrec::learner {
namespace {

int PortOf(const std::string& url) {
  return std::stoi(url.substr(url.rfind(':') + 1, url.rfind("/metrics") - url.rfind(':') - 1));
}

TEST(MetricsExporterTest, ServesEachRowAsCountersAndGaugesAndEachActorWithItsLabels) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsExporter exporter("127.0.0.1", 0);
  const int port = PortOf(exporter.url());
  common::JsonObject row;
  row.Add("update", uint64_t{12}).Add("env_steps", uint64_t{3000}).Add("entropy", 0.5);
  row.Add("policy_lag_mean", std::nan("")).Add("final", 0);
  exporter.Update(row);
  ActorState actor;
  actor.last.actor_id = 3;
  actor.last.host = "h";
  actor.last.env_steps = 640;
  actor.send_blocked_share = 0.25;
  actor.last_seen = common::Clock::now();
  exporter.UpdateActors({{3, actor}}, common::Clock::now());

  const auto page = testing::HttpGet(port, "/metrics");
  ASSERT_TRUE(page.has_value());
  EXPECT_NE(page->find("# TYPE rlrec_updates_total counter\nrlrec_updates_total 12\n"),
            std::string::npos)
      << *page;
  EXPECT_NE(page->find("rlrec_env_steps_total 3000\n"), std::string::npos) << *page;
  EXPECT_NE(page->find("# TYPE rlrec_entropy gauge\nrlrec_entropy 0.5\n"), std::string::npos);
  EXPECT_NE(page->find("rlrec_policy_lag_mean Nan\n"), std::string::npos) << *page;
  EXPECT_EQ(page->find("rlrec_final"), std::string::npos) << "flags are not exported";
  EXPECT_NE(page->find("rlrec_actor_env_steps{actor=\"3\",host=\"h\"} 640\n"), std::string::npos);
  EXPECT_NE(
      page->find("rlrec_actor_time_share{actor=\"3\",host=\"h\",phase=\"send_blocked\"} 0.25"),
      std::string::npos)
      << *page;

  // Counters only grow: a later total adds the difference.
  common::JsonObject later;
  later.Add("update", uint64_t{20});
  exporter.Update(later);
  EXPECT_NE(testing::HttpGet(port, "/metrics")->find("rlrec_updates_total 20\n"),
            std::string::npos);
  // An actor no longer known is dropped.
  exporter.UpdateActors({}, common::Clock::now());
  EXPECT_EQ(testing::HttpGet(port, "/metrics")->find("actor=\"3\""), std::string::npos);
}

// The open files this process may have: the soft limit raised to the hard one.
size_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::getrlimit(RLIMIT_NOFILE, &limit);
  return static_cast<size_t>(limit.rlim_cur);
}

TEST(MetricsExporterTest, OtherPathsAreRefusedAndASilentClientDelaysNoOne) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsExporter exporter("127.0.0.1", 0);
  const int port = PortOf(exporter.url());
  EXPECT_FALSE(testing::HttpGet(port, "/secrets").has_value()) << "404, not a page";
  EXPECT_EQ(testing::HttpExchange(port, "GET /secrets HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 404", 0),
            0u);
  const int silent = testing::LoopbackConnect(port);
  ASSERT_GE(silent, 0);
  const auto start = common::Clock::now();
  EXPECT_TRUE(testing::HttpGet(port, "/metrics", 10).has_value());
  EXPECT_LT(common::SecondsSince(start), 1);
  // The silent one is dropped once its second to send a request is up.
  timeval tv{5, 0};
  ::setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char byte;
  const auto waited = common::Clock::now();
  EXPECT_EQ(::recv(silent, &byte, 1, 0), 0) << "closed";
  EXPECT_LT(common::SecondsSince(waited), MetricsExporter::kRequestDeadlineS + 1);
  ::close(silent);
}

// The attack: a thousand idle connections and byte-at-a-time clients, more arriving all
// the while. Every scrape is answered within a second.
TEST(MetricsExporterTest, AScrapeIsAnsweredWithinASecondAmongAThousandIdleAndSlowClients) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  RaiseOpenFileLimit();
  MetricsExporter exporter("127.0.0.1", 0);
  const int port = PortOf(exporter.url());
  common::JsonObject row;
  row.Add("update", uint64_t{7});
  exporter.Update(row);

  // A thousand idle connections, held by a child process of their own (with its own table of
  // open files: 1,000 fit a limit of 1,024), until this process closes the pipe.
  constexpr int kIdle = 1000;
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    ::close(ready[0]);
    ::close(done[1]);
    int connected = 0;
    while (connected < kIdle && testing::LoopbackConnect(port) >= 0) ++connected;
    const char reply = connected == kIdle ? 'y' : 'n';
    if (::write(ready[1], &reply, 1) != 1) ::_exit(1);
    char byte;
    while (::read(done[0], &byte, 1) > 0) {
    }
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char reply = 0;
  ASSERT_EQ(::read(ready[0], &reply, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(reply, 'y') << "the child could not open " << kIdle << " connections";
  // Slow clients: one byte of a request every 100 ms each; and new idle ones, 200 a second.
  std::atomic<bool> stop{false};
  std::thread slow([&] {
    const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
    std::vector<int> fds(20, -1);
    std::vector<size_t> at(fds.size(), 0);
    while (!stop.load()) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] < 0) {
          fds[i] = testing::LoopbackConnect(port);
          at[i] = 0;
        }
        if (fds[i] < 0) continue;
        const char byte = request[at[i]++ % (request.size() - 4)];  // never the blank line
        if (::send(fds[i], &byte, 1, MSG_NOSIGNAL) != 1) {
          ::close(fds[i]);  // dropped by the exporter: a new slow client takes its place
          fds[i] = -1;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  });
  std::thread flood([&] {
    std::vector<int> fds;
    while (!stop.load() && fds.size() < 200) {
      if (const int fd = testing::LoopbackConnect(port); fd >= 0) fds.push_back(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (int fd : fds) ::close(fd);
  });

  double slowest = 0;
  for (int scrape = 0; scrape < 10; ++scrape) {
    const auto start = common::Clock::now();
    const auto page = testing::HttpGet(port, "/metrics", 5);
    const double seconds = common::SecondsSince(start);
    slowest = std::max(slowest, seconds);
    ASSERT_TRUE(page.has_value()) << "scrape " << scrape;
    EXPECT_NE(page->find("rlrec_updates_total 7"), std::string::npos);
    EXPECT_LT(seconds, 1.0) << "scrape " << scrape;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  stop.store(true);
  slow.join();
  flood.join();
  ::close(done[1]);
  int status = 0;
  EXPECT_EQ(::waitpid(holder, &status, 0), holder);
  std::cout << "10 scrapes among " << kIdle
            << " idle, 20 byte-at-a-time and 200 arriving clients: slowest " << slowest * 1e3
            << " ms" << std::endl;
}

TEST(MetricsExporterTest, BasicAuthenticationAdmitsTheFilesUserAndChallengesEveryoneElse) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  testing::TempDir dir;
  const std::string file = dir.path() + "/metrics.auth";
  {
    std::ofstream out(file);
    out << "scraper:s3cret pass\n";
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  MetricsExporter exporter("127.0.0.1", 0, file);
  const int port = PortOf(exporter.url());
  common::JsonObject row;
  row.Add("update", uint64_t{3});
  exporter.Update(row);
  const auto get = [&](const std::string& headers) {
    return testing::HttpExchange(port, "GET /metrics HTTP/1.0\r\n" + headers + "\r\n");
  };
  const std::string none = get("");
  EXPECT_EQ(none.rfind("HTTP/1.1 401 Unauthorized\r\n", 0), 0u) << none;
  EXPECT_NE(none.find("WWW-Authenticate: Basic realm=\"rlrec\""), std::string::npos) << none;
  // base64("scraper:wrong") and base64("scraper:s3cret pass").
  EXPECT_EQ(get("Authorization: Basic c2NyYXBlcjp3cm9uZw==\r\n").rfind("HTTP/1.1 401", 0), 0u);
  const std::string admitted = get("authorization: basic c2NyYXBlcjpzM2NyZXQgcGFzcw==\r\n");
  EXPECT_EQ(admitted.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << admitted;
  EXPECT_NE(admitted.find("rlrec_updates_total 3\n"), std::string::npos) << admitted;

  // A password file others can read, or that holds no user:password, is refused.
  const auto refusal = [&](const std::string& path) {
    try {
      MetricsExporter refused("127.0.0.1", 0, path);
    } catch (const common::Error& e) {
      EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  EXPECT_NE(refusal(file).find("has mode 0640: a password file must be its owner's alone (chmod "
                               "600 it)"),
            std::string::npos);
  EXPECT_NE(refusal(dir.path() + "/missing").find("run.metrics_auth_file"), std::string::npos);
  {
    std::ofstream out(file);
    out << "only-a-user\n";
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  EXPECT_NE(refusal(file).find("must hold user:password"), std::string::npos);
}

TEST(MetricsExporterTest, APortInUseIsAClearError) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsExporter first("127.0.0.1", 0);
  try {
    MetricsExporter second("127.0.0.1", PortOf(first.url()));
    FAIL() << "two listeners on one port";
  } catch (const common::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot serve metrics on 127.0.0.1:"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rlrec::learner
