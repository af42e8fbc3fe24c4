#include "common/control.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/test_util.h"

namespace rlrec::common {
namespace {

// Serves control requests on a thread until destroyed.
class ServerThread {
 public:
  ServerThread(const ZmqContext& context, LearnerInfo info)
      : server_(context, "tcp://127.0.0.1:*"), info_(std::move(info)) {
    thread_ = std::thread([this] {
      while (!stop_) server_.Serve(info_, After(0.05));
    });
  }
  ~ServerThread() {
    stop_ = true;
    thread_.join();
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

}  // namespace
}  // namespace rlrec::common
