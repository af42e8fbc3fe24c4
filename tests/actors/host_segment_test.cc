// The host's shared snapshot: real files, real processes (fork), real locks.
#include "actors/host_segment.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "tests/test_util.h"

namespace rlrec::actors {
namespace {

constexpr int64_t kWords = 64 * 1024;  // a 256 KB state

std::vector<common::ParamSpec> Manifest(int64_t words = kWords) {
  return {{"bias", common::DType::kFloat32, {16}}, {"table", common::DType::kInt32, {words - 16}}};
}

uint32_t Word(uint64_t version, size_t i) {
  return static_cast<uint32_t>(version * 2654435761u + i * 40503u);
}

// Writes version `version`'s pattern into the state, word by word, yielding half-way so that
// a reader that is let in during a write would see two versions at once.
void WritePattern(HostSegment& segment, uint64_t version, size_t words) {
  auto* state = reinterpret_cast<uint32_t*>(segment.mutable_data());
  for (size_t i = 0; i < words; ++i) {
    state[i] = Word(version, i);
    if (i == words / 2) std::this_thread::yield();
  }
}

// Whether the state holds exactly `version`'s pattern.
bool HoldsPattern(const HostSegment& segment, uint64_t version) {
  const auto* state = reinterpret_cast<const uint32_t*>(segment.data());
  for (size_t i = 0; i < segment.bytes() / 4; ++i) {
    if (state[i] != Word(version, i)) return false;
  }
  return true;
}

// Runs `body` in a child process; returns its exit status (or 100 + signal).
template <typename Body>
pid_t Fork(Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
    }
    _exit(code);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

const std::string kName = HostSegment::NameFor("run", "tcp://127.0.0.1:1");

// Run "run"'s segment in `dir`, this process its receiver, holding version 1 of publisher 42.
std::shared_ptr<HostSegment> ReceiverHoldingVersion1(const std::string& dir) {
  auto segment = HostSegment::Open(dir, kName, "run", Manifest());
  std::atomic<bool> stop{false};
  if (!segment->TryBecomeReceiver() || !segment->BeginWrite(common::After(5), stop)) {
    ADD_FAILURE() << "not the receiver, or could not write";
    return segment;
  }
  WritePattern(*segment, 1, kWords);
  segment->EndWrite(1, 42);
  return segment;
}

TEST(HostSegmentTest, ReadersInOtherProcessesNeverSeeAHalfWrittenStateWhileVersionsSwap) {
  testing::TempDir dir;
  const std::string& name = kName;
  auto segment = ReceiverHoldingVersion1(dir.path());
  std::atomic<bool> stop{false};

  // Readers: each read checks every word against the version it says it holds.
  std::vector<pid_t> readers;
  for (int r = 0; r < 4; ++r) {
    readers.push_back(Fork([&] {
      auto mine = HostSegment::Open(dir.path(), name, "run", Manifest());
      HostSegment::Reader reader(mine);
      uint64_t reads = 0, last = 0, versions = 0;
      while (!mine->run_ended()) {
        if (!reader.TryBegin()) continue;
        const uint64_t version = mine->version();
        const bool whole = mine->publisher() == 42 && HoldsPattern(*mine, version);
        reader.End();
        if (!whole) return 1;  // a torn read
        ++reads;
        if (version != last) ++versions, last = version;
      }
      return reads >= 20 && versions >= 5 ? 0 : 2;
    }));
  }
  uint64_t version = 1;
  const auto until = common::After(2.0);
  while (common::Clock::now() < until) {
    ASSERT_TRUE(segment->BeginWrite(common::After(10), stop));
    WritePattern(*segment, ++version, kWords);
    segment->EndWrite(version, 42);
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  segment->MarkRunEnded();
  for (pid_t pid : readers) EXPECT_EQ(Wait(pid), 0) << "1: a torn read; 2: too few reads";
  EXPECT_GE(segment->writes(), 20u);
}

TEST(HostSegmentTest, AReceiverThatDiesMidWriteLeavesNothingReadableAndAnotherTakesOver) {
  testing::TempDir dir;
  const std::string name = HostSegment::NameFor("run", "tcp://127.0.0.1:1");
  auto segment = HostSegment::Open(dir.path(), name, "run", Manifest());
  HostSegment::Reader reader(segment);
  const pid_t receiver = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), name, "run", Manifest());
    if (!mine->TryBecomeReceiver()) return 1;
    std::atomic<bool> stop{false};
    if (!mine->BeginWrite(common::After(5), stop)) return 2;
    WritePattern(*mine, 5, kWords);
    mine->EndWrite(5, 42);
    if (!mine->BeginWrite(common::After(5), stop)) return 3;
    WritePattern(*mine, 6, kWords / 2);  // and dies half-way
    _exit(0);
  });
  ASSERT_EQ(Wait(receiver), 0);
  EXPECT_FALSE(reader.TryBegin()) << "a half-written state was readable";
  EXPECT_FALSE(segment->readable());
  // The role went with the dead process: this one takes it and writes a whole state.
  ASSERT_TRUE(segment->TryBecomeReceiver());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(segment->BeginWrite(common::After(5), stop));
  WritePattern(*segment, 7, kWords);
  segment->EndWrite(7, 43);
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_EQ(segment->version(), 7u);
  EXPECT_TRUE(HoldsPattern(*segment, 7));
  reader.End();
}

TEST(HostSegmentTest, AWriterWaitsForAReaderOfALiveProcessButNotForOneThatDied) {
  testing::TempDir dir;
  const std::string& name = kName;
  auto segment = ReceiverHoldingVersion1(dir.path());
  std::atomic<bool> stop{false};
  {
    HostSegment::Reader reader(segment);  // this process: alive
    ASSERT_TRUE(reader.TryBegin());
    EXPECT_FALSE(segment->BeginWrite(common::After(0.2), stop)) << "wrote under a reader";
    EXPECT_EQ(segment->version(), 1u) << "a write that gave up changed the state";
  }
  const pid_t dies_reading = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), name, "run", Manifest());
    auto* reader = new HostSegment::Reader(mine);  // never ends its read
    return reader->TryBegin() ? 0 : 1;
  });
  ASSERT_EQ(Wait(dies_reading), 0);
  EXPECT_TRUE(segment->BeginWrite(common::After(5), stop));
  segment->EndWrite(2, 42);
}

TEST(HostSegmentTest, TheLastHolderRemovesTheFileAndStaleOnesAreCleanedAtStart) {
  testing::TempDir dir;
  const std::string name = HostSegment::NameFor("run", "tcp://127.0.0.1:1");
  const std::string path = dir.path() + "/" + name;
  struct stat st {};
  {
    auto first = HostSegment::Open(dir.path(), name, "run", Manifest());
    {
      auto second = HostSegment::Open(dir.path(), name, "run", Manifest());
      EXPECT_EQ(HostSegment::RemoveStaleSegments(dir.path()), 0) << "removed a segment in use";
    }
    EXPECT_EQ(stat(path.c_str(), &st), 0) << "removed while a holder was left";
  }
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the last holder left the file behind";

  // A crashed run's segment: nobody holds it.
  const pid_t crashed = Fork([&] {
    auto* leaked = new std::shared_ptr<HostSegment>(
        HostSegment::Open(dir.path(), HostSegment::NameFor("old", "e"), "old", Manifest()));
    (void)leaked;
    _exit(0);  // no destructor runs
    return 0;
  });
  ASSERT_EQ(Wait(crashed), 0);
  const std::string stale = dir.path() + "/" + HostSegment::NameFor("old", "e");
  ASSERT_EQ(stat(stale.c_str(), &st), 0);
  std::ofstream(dir.path() + "/unrelated-file") << "kept";
  EXPECT_EQ(HostSegment::RemoveStaleSegments(dir.path()), 1);
  EXPECT_NE(stat(stale.c_str(), &st), 0);
  EXPECT_EQ(stat((dir.path() + "/unrelated-file").c_str(), &st), 0);
}

TEST(HostSegmentTest, ASegmentOfAnotherRunOrModelOrAForeignFileIsRefusedSayingWhy) {
  testing::TempDir dir;
  const std::string name = "rlrec-snapshot-shared-name";
  auto segment = HostSegment::Open(dir.path(), name, "run-a", Manifest());
  const auto refusal = [&](const std::string& run, const std::vector<common::ParamSpec>& m) {
    try {
      HostSegment::Open(dir.path(), name, run, m);
      return std::string("accepted");
    } catch (const common::Error& e) {
      EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput) << e.what();
      return std::string(e.what());
    }
  };
  EXPECT_NE(refusal("run-b", Manifest()).find("belongs to run 'run-a'"), std::string::npos);
  EXPECT_NE(refusal("run-a", Manifest(kWords * 2)).find("this model needs"), std::string::npos);
  auto renamed = Manifest();
  renamed[0].name = "other";
  EXPECT_NE(refusal("run-a", renamed).find("another model"), std::string::npos);
  std::ofstream(dir.path() + "/rlrec-snapshot-garbage") << std::string(100000, 'x');
  try {
    HostSegment::Open(dir.path(), "rlrec-snapshot-garbage", "run-a", Manifest());
    FAIL() << "a foreign file was taken for a segment";
  } catch (const common::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an rlrec segment"), std::string::npos) << e.what();
  }
  // Two runs, or two learners of one run id, never share a name.
  EXPECT_NE(HostSegment::NameFor("a", "tcp://h:1"), HostSegment::NameFor("b", "tcp://h:1"));
  EXPECT_NE(HostSegment::NameFor("a", "tcp://h:1"), HostSegment::NameFor("a", "tcp://h:2"));
  EXPECT_EQ(HostSegment::NameFor("a/b c", "e").rfind("rlrec-snapshot-a_b_c-", 0), 0u);
}

}  // namespace
}  // namespace rlrec::actors
