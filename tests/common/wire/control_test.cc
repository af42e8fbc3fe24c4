#include "common/wire/control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "common/transport/zap_handler.h"
#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// Serves control requests on a thread until destroyed.
class ServerThread {
 public:
  ServerThread(const ZmqContext& context, LearnerInfo info, const SocketSecurity& security = {})
      : server_(context, "tcp://127.0.0.1:*", security), info_(std::move(info)) {
    thread_ = std::thread([this] {
      while (!stop_) server_.Serve(info_, After(0.05));
    });
  }
  ~ServerThread() { Stop(); }
  // Stops serving; server() may then be read from this thread.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string& endpoint() const { return server_.endpoint(); }
  ControlServer& server() { return server_; }

 private:
  ControlServer server_;
  LearnerInfo info_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

LearnerInfo SomeInfo() {
  LearnerInfo info;
  info.run_id = "run-x";
  info.trajectory_endpoints = {"tcp://127.0.0.1:1111", "tcp://127.0.0.1:2222"};
  info.weights_endpoint = "tcp://127.0.0.1:3333";
  info.latest_version = 42;
  info.updates = 84;
  info.env_steps = 1000;
  return info;
}

TEST(ControlTest, HelloReturnsTheLearnerEndpoints) {
  ZmqContext context;
  ServerThread server(context, SomeInfo());
  ControlClient client(context, server.endpoint(), /*timeout_s=*/2, /*retries=*/1);
  LearnerInfo info = client.Hello(/*actor_id=*/9);
  EXPECT_EQ(info.run_id, "run-x");
  EXPECT_EQ(info.trajectory_endpoints, SomeInfo().trajectory_endpoints);
  EXPECT_EQ(info.weights_endpoint, "tcp://127.0.0.1:3333");
  EXPECT_EQ(info.latest_version, 42u);
  LearnerInfo status = client.Status();
  EXPECT_EQ(status.updates, 84u);
  EXPECT_EQ(status.env_steps, 1000u);
}

TEST(ControlTest, MismatchedProtocolVersionIsRefusedWithAClearError) {
  ZmqContext context;
  ServerThread server(context, SomeInfo());
  ControlClient client(context, server.endpoint(), 2, 1);
  try {
    client.Hello(9, kProtocolVersion + 1);
    FAIL() << "a hello with another protocol version was welcomed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("refused hello: protocol version " +
                                         std::to_string(kProtocolVersion + 1)),
              std::string::npos)
        << e.what();
  }
}

TEST(ControlTest, RequestToASilentEndpointTimesOutAfterItsRetries) {
  ZmqContext context;
  // A bound socket that never answers.
  ZmqSocket silent(context, ZMQ_ROUTER, "silent");
  std::string endpoint = silent.Bind("tcp://127.0.0.1:*");
  ControlClient client(context, endpoint, /*timeout_s=*/0.2, /*retries=*/2);
  auto start = Clock::now();
  try {
    client.Hello(1);
    FAIL() << "a silent endpoint answered";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTimeout);
    EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
  }
  double elapsed = SecondsSince(start);
  EXPECT_GE(elapsed, 0.55);
  EXPECT_LT(elapsed, 3.0);
}

TEST(ControlTest, GarbageRequestIsAnsweredWithARefusalAndTheServerGoesOn) {
  ZmqContext context;
  ServerThread server(context, SomeInfo());
  {
    ZmqSocket req(context, ZMQ_REQ, "garbage REQ");
    req.Connect(server.endpoint());
    ASSERT_TRUE(req.SendCopy("definitely not capnp!!", false, After(2)));
    auto reply = req.Receive(After(2));
    ASSERT_NE(reply, nullptr);
  }
  ControlClient client(context, server.endpoint(), 2, 1);
  EXPECT_EQ(client.Hello(3).run_id, "run-x");
}

ActorReport SomeReport(uint32_t id = 4) {
  ActorReport r;
  r.actor_id = id;
  r.host = "host-a";
  r.pid = 77;
  r.uptime_s = 10;
  r.env_steps = 6400;
  r.unrolls = 20;
  r.snapshot_version = 9;
  r.simulate_s = 4;
  r.infer_s = 3;
  r.encode_s = 0.5;
  r.send_blocked_s = 2;
  return r;
}

// Serves on this thread until `server` has taken a report or `seconds` pass.
std::vector<ActorReport> ServeForReports(ControlServer& server, double seconds) {
  const Deadline deadline = After(seconds);
  std::vector<ActorReport> reports;
  while (reports.empty() && Clock::now() < deadline) {
    server.Serve(SomeInfo(), After(0.05));
    reports = server.TakeReports();
  }
  return reports;
}

TEST(ControlTest, ActorReportsReachTheServerWithEveryFieldAndAreAnswered) {
  ZmqContext context;
  ControlServer server(context, "tcp://127.0.0.1:*");
  ActorReporter reporter(context, server.endpoint(), /*timeout_s=*/2);
  // The first post may find the connection not made yet: it does not wait, it tries again.
  std::vector<ActorReport> reports;
  const Deadline deadline = After(5);
  while (reports.empty() && Clock::now() < deadline) {
    reporter.Post(SomeReport());
    reports = ServeForReports(server, 0.2);
  }
  ASSERT_EQ(reports.size(), 1u);
  const ActorReport& r = reports[0];
  EXPECT_EQ(r.actor_id, 4u);
  EXPECT_EQ(r.host, "host-a");
  EXPECT_EQ(r.pid, 77u);
  EXPECT_EQ(r.uptime_s, 10);
  EXPECT_EQ(r.env_steps, 6400u);
  EXPECT_EQ(r.unrolls, 20u);
  EXPECT_EQ(r.snapshot_version, 9u);
  EXPECT_EQ(r.simulate_s, 4);
  EXPECT_EQ(r.infer_s, 3);
  EXPECT_EQ(r.encode_s, 0.5);
  EXPECT_EQ(r.send_blocked_s, 2);
  EXPECT_FALSE(r.leaving);
  // Its answer is collected by the next post, which then goes out.
  ActorReport leaving = SomeReport();
  leaving.leaving = true;
  bool posted = false;
  for (int i = 0; i < 200 && !posted; ++i) {
    posted = reporter.Post(leaving);
    if (!posted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(posted) << "the first report's answer never came";
  EXPECT_EQ(reporter.answered(), 1u);
  EXPECT_EQ(reporter.learner_version(), 42u) << "the answer carries the learner's version";
  reports = ServeForReports(server, 2);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].leaving);
  EXPECT_EQ(reporter.refused(), 0u);
}

TEST(ControlTest, AReportWithImpossibleContentsIsRefusedAndTheServerGoesOn) {
  ZmqContext context;
  ControlServer server(context, "tcp://127.0.0.1:*");
  ZmqSocket req(context, ZMQ_REQ, "hostile REQ");
  req.Connect(server.endpoint());
  ActorReport bad[5] = {SomeReport(), SomeReport(), SomeReport(), SomeReport(), SomeReport()};
  bad[0].infer_s = std::nan("");
  bad[1].send_blocked_s = -1;
  bad[2].simulate_s = 1e6;  // far beyond its uptime
  bad[3].actor_id = kMaxActorId;
  bad[4].unrolls = bad[4].env_steps + 1;
  for (const ActorReport& r : bad) {
    ASSERT_TRUE(req.Send(EncodeActorReport(r), After(2)));
    std::shared_ptr<const Multipart> reply;
    const Deadline deadline = After(5);
    while (!reply && Clock::now() < deadline) {
      server.Serve(SomeInfo(), After(0.05));
      reply = req.Receive(After(0.05));
    }
    ASSERT_NE(reply, nullptr);
    // A refusal, saying why (DecodeWelcome reports refusals with the prefix it is given).
    try {
      DecodeWelcome(std::move(reply), "refused: ");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("refused: ", 0), 0u) << e.what();
    }
  }
  EXPECT_TRUE(server.TakeReports().empty());
  EXPECT_EQ(server.refused(), 5u);
  // A good report still gets through.
  ASSERT_TRUE(req.Send(EncodeActorReport(SomeReport()), After(2)));
  EXPECT_EQ(ServeForReports(server, 2).size(), 1u);
}

TEST(ControlTest, PostingReportsNeverWaitsForAnAbsentLearner) {
  ZmqContext context;
  ZmqSocket closed(context, ZMQ_REP, "unanswering REP");
  const std::string endpoint = closed.Bind("tcp://127.0.0.1:*");
  ActorReporter reporter(context, endpoint, /*timeout_s=*/0.2);
  const auto start = Clock::now();
  int sent = 0;
  for (int i = 0; i < 50; ++i) sent += reporter.Post(SomeReport()) ? 1 : 0;
  EXPECT_LT(SecondsSince(start), 0.5);
  EXPECT_LE(sent, 1) << "a second report went out while the first was unanswered";
  EXPECT_FALSE(reporter.PostAndWait(SomeReport(), After(0.2)));
  EXPECT_EQ(reporter.answered(), 0u);
}

// Sends `frames` frames of `bytes` bytes each as one request and returns the reply, or
// nullptr when none comes within `seconds`.
std::unique_ptr<Multipart> RequestShape(const ZmqContext& context, const std::string& endpoint,
                                        size_t frames, size_t bytes, double seconds) {
  ZmqSocket req(context, ZMQ_REQ, "shaped REQ");
  req.SetInt(ZMQ_LINGER, 0);
  req.Connect(endpoint);
  const std::string frame(bytes, 'q');
  for (size_t i = 0; i < frames; ++i) {
    if (!req.SendCopy(frame, i + 1 < frames, After(5))) return nullptr;
  }
  return req.Receive(After(seconds));
}

TEST(ControlTest, RequestsOverTheFrameOrByteLimitAreRefusedAndTheNextRequestIsAnswered) {
  ZmqContext context;
  ServerThread server(context, SomeInfo());
  ControlClient client(context, server.endpoint(), 2, 1);
  // One frame too many; then 40 frames of 64 KiB, each within the limit, 2.5 MiB together.
  const std::pair<size_t, size_t> shapes[] = {{kMaxControlFrames + 1, 8}, {40, size_t{64} << 10}};
  for (const auto& [frames, bytes] : shapes) {
    auto reply = RequestShape(context, server.endpoint(), frames, bytes, 5);
    ASSERT_NE(reply, nullptr) << frames << " frames of " << bytes << " bytes went unanswered";
    try {
      DecodeWelcome(std::move(reply), "refused: ");
      FAIL() << "an oversized request was welcomed";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is over the control channel's limits of " +
                                           std::to_string(kMaxControlFrames) + " frames"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(client.Hello(3).run_id, "run-x");
  }
  // One frame over the limit: ZeroMQ drops that connection before the frame is read.
  EXPECT_EQ(RequestShape(context, server.endpoint(), 1, kMaxControlMessageBytes + 1, 0.5), nullptr);
  EXPECT_EQ(client.Status().updates, 84u);
  server.Stop();
  EXPECT_EQ(server.server().refused(), 2u);
  EXPECT_EQ(server.server().rebinds(), 0u);
}

TEST(ControlTest, AnOversizedReplyIsDroppedAndTheRequestAskedAgain) {
  ZmqContext context;
  ZmqSocket rep(context, ZMQ_REP, "hostile REP");
  const std::string endpoint = rep.Bind("tcp://127.0.0.1:*");
  ControlServer honest(context, "tcp://127.0.0.1:*");
  std::thread hostile([&] {
    // The first request gets a reply of too many frames; the second an honest welcome.
    auto first = rep.Receive(After(10));
    if (!first) return;
    const std::string frame(16, 'r');
    for (size_t i = 0; i <= kMaxControlFrames; ++i) {
      rep.SendCopy(frame, i < kMaxControlFrames, After(5));
    }
    auto second = rep.Receive(After(10));
    if (second) rep.Send(honest.Answer(std::move(second), SomeInfo()), After(5));
  });
  ControlClient client(context, endpoint, /*timeout_s=*/0.5, /*retries=*/2);
  EXPECT_EQ(client.Hello(5).run_id, "run-x");
  hostile.join();
}

TEST(ControlTest, AClientWhoseKeysTheLearnerRefusesIsToldSo) {
  ZmqContext context;
  SocketSecurity run;
  run.curve = true;
  run.keys = GenerateCurveKeys();
  ZapHandler zap(context, run.keys.client_public);
  ServerThread server(context, SomeInfo(), run);
  // The run's server key, another client pair: the learner's ZAP handler refuses it.
  SocketSecurity stranger = run;
  const CurveKeys other = GenerateCurveKeys();
  stranger.keys.client_public = other.client_public;
  stranger.keys.client_secret = other.client_secret;
  ControlClient refused(context, server.endpoint(), 1, 3, stranger);
  const auto start = Clock::now();
  try {
    refused.Hello(1);
    FAIL() << "a client with another key was welcomed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    EXPECT_NE(std::string(e.what()).find("refused this process's keys"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(SecondsSince(start), 1.5) << "a refusal of keys is final: no retries";
  // No CURVE at all against a CURVE learner: the handshake fails, and the client says why.
  ControlClient plain(context, server.endpoint(), 1, 3);
  try {
    plain.Hello(1);
    FAIL() << "a client without CURVE was welcomed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("handshake"), std::string::npos) << e.what();
  }
  // The run's own client is welcomed.
  ControlClient member(context, server.endpoint(), 2, 1, run);
  EXPECT_EQ(member.Hello(2).run_id, "run-x");
}

TEST(ControlTest, ARequestToAnAddressWhereNothingListensSaysSo) {
  ZmqContext context;
  ControlClient client(context, "tcp://127.0.0.1:" + std::to_string(testing::FreeTcpPort()),
                       /*timeout_s=*/0.3, /*retries=*/0);
  try {
    client.Status();
    FAIL() << "nothing listens, yet an answer came";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kTimeout);
    EXPECT_NE(std::string(e.what()).find("nothing accepted a connection"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace rlrec::common
