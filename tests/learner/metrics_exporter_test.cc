#include "learner/metrics_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>

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

TEST(MetricsExporterTest, OtherPathsAreRefusedAndASilentClientDelaysOthersBrieflyOnly) {
  if (!MetricsExporter::Available()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsExporter exporter("127.0.0.1", 0);
  const int port = PortOf(exporter.url());
  EXPECT_FALSE(testing::HttpGet(port, "/secrets").has_value()) << "404, not a page";
  // A client that connects and says nothing holds the server for at most its 2 s deadline.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(::connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const auto start = common::Clock::now();
  EXPECT_TRUE(testing::HttpGet(port, "/metrics", 10).has_value());
  EXPECT_LT(common::SecondsSince(start), 5);
  ::close(silent);
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
