#include "common/base/watchdog.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace rlrec::common {
namespace {

TEST(WatchdogDeathTest, ACallArmedPastItsDeadlineAbortsTheProcessNamingIt) {
  EXPECT_DEATH(
      {
        Watchdog watchdog;
        watchdog.Arm(0.2, "the stuck call");
        std::this_thread::sleep_for(std::chrono::seconds(3));
      },
      "the stuck call did not complete within 0.2 s; aborting");
}

TEST(WatchdogDeathTest, TheExpiryActionRunsWithTheReasonAndEndsTheProcess) {
  EXPECT_EXIT(
      {
        Watchdog watchdog;
        watchdog.SetExpiry([](const std::string& why) {
          std::fprintf(stderr, "last words: %s\n", why.c_str());
          std::_Exit(7);
        });
        watchdog.Arm(0.2, "the stuck call");
        std::this_thread::sleep_for(std::chrono::seconds(3));
      },
      ::testing::ExitedWithCode(7), "last words: the stuck call did not complete within 0.2 s");
}

TEST(WatchdogTest, CallsDisarmedInTimeLetTheProcessLive) {
  Watchdog watchdog;
  for (int i = 0; i < 3; ++i) {
    watchdog.Arm(0.3, "a quick call");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    watchdog.Disarm();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // past every deadline
  SUCCEED() << "still alive";
}

}  // namespace
}  // namespace rlrec::common
