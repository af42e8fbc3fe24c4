// The host's shared snapshot: real files, real processes (fork), real locks, real signals.
#include "actors/snapshot/host_segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include "actors/snapshot/owned_files.h"
#include "actors/snapshot/process_identity.h"
#include "actors/snapshot/segment_layout.h"
#include "common/base/error.h"
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

// Writes version `version`'s pattern into `copy`, word by word, yielding half-way so that a
// reader that is let in during a write would see two versions at once.
void WritePattern(HostSegment& segment, uint32_t copy, uint64_t version, size_t words) {
  auto* state = reinterpret_cast<uint32_t*>(segment.mutable_data(copy));
  for (size_t i = 0; i < words; ++i) {
    state[i] = Word(version, i);
    if (i == words / 2) std::this_thread::yield();
  }
}

// Whether `copy` holds exactly `version`'s pattern.
bool HoldsPattern(const HostSegment& segment, uint32_t copy, uint64_t version) {
  const auto* state = reinterpret_cast<const uint32_t*>(segment.data(copy));
  for (size_t i = 0; i < segment.bytes() / 4; ++i) {
    if (state[i] != Word(version, i)) return false;
  }
  return true;
}

// Writes `version` whole into `copy` of `segment`, whose receiver this process is.
bool Write(HostSegment& segment, uint32_t copy, uint64_t version, uint64_t publisher = 42) {
  std::atomic<bool> stop{false};
  if (!segment.BeginWrite(copy, common::After(10), stop)) return false;
  WritePattern(segment, copy, version, kWords);
  segment.EndWrite(copy, version, publisher);
  return true;
}

// Runs `body` in a child process; returns its pid.
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

// The child's exit status, or 100 + the signal that ended it.
int Wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// The header of the segment at `path`, mapped writable as any process of this user could.
struct RawHeader {
  explicit RawHeader(const std::string& path) {
    const int fd = open(path.c_str(), O_RDWR);
    map = mmap(nullptr, sizeof(segment::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
  }
  ~RawHeader() { munmap(map, sizeof(segment::SegmentHeader)); }
  segment::SegmentHeader* operator->() { return static_cast<segment::SegmentHeader*>(map); }
  void* map;
};

std::string ReadComm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string kName = HostSegment::NameFor("run", "tcp://127.0.0.1:1");

// Run "run"'s segment in `dir` (`copies` copies), this process its receiver, holding version 1
// of publisher 42.
std::shared_ptr<HostSegment> ReceiverHoldingVersion1(const std::string& dir, uint32_t copies = 2) {
  auto segment = HostSegment::Open(dir, kName, "run", Manifest(), copies);
  if (!segment->TryBecomeReceiver() || !Write(*segment, copies - 1, 1)) {
    ADD_FAILURE() << "not the receiver, or could not write";
  }
  return segment;
}

class HostSegmentCopiesTest : public ::testing::TestWithParam<uint32_t> {};

// With one copy, versions are written in place; with two, alternately into the other copy
// (a full snapshot) and in place (a delta). Readers check every word and the seal.
TEST_P(HostSegmentCopiesTest, ReadersInOtherProcessesNeverSeeAHalfWrittenStateWhileVersionsSwap) {
  const uint32_t copies = GetParam();
  testing::TempDir dir;
  auto segment = ReceiverHoldingVersion1(dir.path(), copies);

  std::vector<pid_t> readers;
  for (int r = 0; r < 4; ++r) {
    readers.push_back(Fork([&] {
      auto mine = HostSegment::Open(dir.path(), kName, "run", Manifest(), copies);
      HostSegment::Reader reader(mine);
      uint64_t reads = 0, last = 0, versions = 0;
      while (!mine->run_ended()) {
        if (!reader.TryBegin()) continue;
        const uint32_t copy = reader.copy();
        const uint64_t version = mine->version(copy);
        std::string why;
        const bool whole =
            mine->publisher(copy) == 42 && HoldsPattern(*mine, copy, version) && reader.Check(&why);
        reader.End();
        if (!whole) return 1;  // a torn read, or a seal that does not match
        ++reads;
        if (version != last) ++versions, last = version;
      }
      return reads >= 20 && versions >= 5 ? 0 : 2;
    }));
  }
  uint64_t version = 1;
  const auto until = common::After(2.0);
  while (common::Clock::now() < until) {
    const bool in_place = copies == 1 || version % 2 == 1;
    ASSERT_TRUE(Write(*segment, in_place ? segment->active() : 1 - segment->active(), ++version));
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  segment->MarkRunEnded();
  for (pid_t pid : readers) EXPECT_EQ(Wait(pid), 0) << "1: a torn read; 2: too few reads";
  EXPECT_GE(segment->writes(), 20u);
}

INSTANTIATE_TEST_SUITE_P(OneAndTwoCopies, HostSegmentCopiesTest, ::testing::Values(1u, 2u));

TEST(HostSegmentTest, AReceiverThatDiesMidWriteLeavesNothingReadableAndAnotherTakesOver) {
  testing::TempDir dir;
  auto segment = HostSegment::Open(dir.path(), kName, "run", Manifest(), 1);
  HostSegment::Reader reader(segment);
  const pid_t receiver = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), kName, "run", Manifest(), 1);
    if (!mine->TryBecomeReceiver()) return 1;
    if (!Write(*mine, 0, 5)) return 2;
    std::atomic<bool> stop{false};
    if (!mine->BeginWrite(0, common::After(5), stop)) return 3;
    WritePattern(*mine, 0, 6, kWords / 2);  // and dies half-way
    _exit(0);
  });
  ASSERT_EQ(Wait(receiver), 0);
  EXPECT_FALSE(reader.TryBegin()) << "a half-written state was readable";
  EXPECT_FALSE(segment->readable());
  // The role went with the dead process: this one takes it and writes a whole state.
  ASSERT_TRUE(segment->TryBecomeReceiver());
  ASSERT_TRUE(Write(*segment, 0, 7, 43));
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_EQ(segment->version(), 7u);
  EXPECT_TRUE(HoldsPattern(*segment, 0, 7));
  reader.End();
}

// With two copies a full snapshot goes into the copy nobody reads: a receiver that dies
// writing it leaves the readers on their version.
TEST(HostSegmentTest, AReceiverThatDiesWritingTheOtherCopyLeavesReadersOnTheirVersion) {
  testing::TempDir dir;
  auto segment = HostSegment::Open(dir.path(), kName, "run", Manifest(), 2);
  HostSegment::Reader reader(segment);
  const pid_t receiver = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), kName, "run", Manifest(), 2);
    if (!mine->TryBecomeReceiver() || !Write(*mine, 1, 5)) return 1;
    std::atomic<bool> stop{false};
    if (!mine->BeginWrite(0, common::After(5), stop)) return 3;
    WritePattern(*mine, 0, 6, kWords / 2);  // and dies half-way
    _exit(0);
  });
  ASSERT_EQ(Wait(receiver), 0);
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_EQ(reader.copy(), 1u);
  EXPECT_EQ(segment->version(1), 5u);
  EXPECT_TRUE(HoldsPattern(*segment, 1, 5));
  std::string why;
  EXPECT_TRUE(reader.Check(&why)) << why;
  reader.End();
  EXPECT_FALSE(segment->readable(0));
}

TEST(HostSegmentTest, AWriterWaitsForAReaderOfALiveProcessButNotForOneThatDied) {
  testing::TempDir dir;
  auto segment = ReceiverHoldingVersion1(dir.path(), 1);
  std::atomic<bool> stop{false};
  {
    HostSegment::Reader reader(segment);  // this process: alive
    ASSERT_TRUE(reader.TryBegin());
    EXPECT_FALSE(segment->BeginWrite(0, common::After(0.2), stop)) << "wrote under a reader";
    EXPECT_EQ(segment->version(), 1u) << "a write that gave up changed the state";
    EXPECT_TRUE(segment->readable()) << "a write that gave up left the state unreadable";
  }
  const pid_t dies_reading = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), kName, "run", Manifest(), 1);
    auto* reader = new HostSegment::Reader(mine);  // never ends its read
    return reader->TryBegin() ? 0 : 1;
  });
  ASSERT_EQ(Wait(dies_reading), 0);
  EXPECT_TRUE(segment->BeginWrite(0, common::After(5), stop));
  segment->EndWrite(0, 2, 42);
}

TEST(HostSegmentTest, TheLastHolderRemovesTheFileAndItsPrivateFolderAndStaleOnesAreCleaned) {
  testing::TempDir shm;
  const std::string folder = MakePrivateFolder(shm.path());
  EXPECT_EQ(folder, shm.path() + "/rlrec-" + std::to_string(geteuid()));
  const std::string path = folder + "/" + kName;
  struct stat st {};
  {
    auto first = HostSegment::Open(folder, kName, "run", Manifest());
    {
      auto second = HostSegment::Open(folder, kName, "run", Manifest());
      EXPECT_EQ(HostSegment::RemoveStaleSegments(folder), 0) << "removed a segment in use";
    }
    EXPECT_EQ(stat(path.c_str(), &st), 0) << "removed while a holder was left";
  }
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the last holder left the file behind";
  EXPECT_NE(stat(folder.c_str(), &st), 0) << "the last holder left the empty folder behind";

  // A crashed run's segment: nobody holds it.
  MakePrivateFolder(shm.path());
  const pid_t crashed = Fork([&] {
    auto* leaked = new std::shared_ptr<HostSegment>(
        HostSegment::Open(folder, HostSegment::NameFor("old", "e"), "old", Manifest()));
    (void)leaked;
    _exit(0);  // no destructor runs
    return 0;
  });
  ASSERT_EQ(Wait(crashed), 0);
  const std::string stale = folder + "/" + HostSegment::NameFor("old", "e");
  ASSERT_EQ(stat(stale.c_str(), &st), 0);
  std::ofstream(folder + "/unrelated-file") << "kept";
  EXPECT_EQ(HostSegment::RemoveStaleSegments(folder), 1);
  EXPECT_NE(stat(stale.c_str(), &st), 0);
  EXPECT_EQ(stat((folder + "/unrelated-file").c_str(), &st), 0);
}

TEST(HostSegmentTest, ASegmentOfAnotherRunOrModelOrAForeignFileIsRefusedSayingWhy) {
  testing::TempDir dir;
  const std::string name = "rlrec-snapshot-shared-name";
  auto segment = HostSegment::Open(dir.path(), name, "run-a", Manifest());
  const auto refusal = [&](const std::string& run, const std::vector<common::ParamSpec>& m,
                           uint32_t copies = 2) {
    try {
      HostSegment::Open(dir.path(), name, run, m, copies);
      return std::string("accepted");
    } catch (const common::Error& e) {
      EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput) << e.what();
      return std::string(e.what());
    }
  };
  EXPECT_NE(refusal("run-b", Manifest()).find("belongs to run 'run-a'"), std::string::npos);
  EXPECT_NE(refusal("run-a", Manifest(kWords * 2)).find("this model needs"), std::string::npos);
  EXPECT_NE(refusal("run-a", Manifest(), 1).find("holds 2 copies"), std::string::npos);
  auto renamed = Manifest();
  renamed[0].name = "other";
  EXPECT_NE(refusal("run-a", renamed).find("another model"), std::string::npos);
  const std::string garbage = dir.path() + "/rlrec-snapshot-garbage";
  std::ofstream(garbage) << std::string(100000, 'x');
  chmod(garbage.c_str(), 0600);
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

// Whatever the umask, the folder is 0700 and the file 0600, both this user's.
TEST(HostSegmentTest, TheFolderIsMade0700AndTheSegment0600WhateverTheUmask) {
  testing::TempDir shm;
  const mode_t umask_was = umask(0);
  const std::string folder = MakePrivateFolder(shm.path());
  auto segment = HostSegment::Open(folder, kName, "run", Manifest());
  umask(umask_was);
  struct stat st {};
  ASSERT_EQ(lstat(folder.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, geteuid());
  ASSERT_EQ(lstat(segment->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
}

// Expects `open` to throw Error(kInvalidInput) whose message holds every one of `words`.
template <typename Open>
void ExpectRefused(Open open, const std::vector<std::string>& words) {
  try {
    open();
    ADD_FAILURE() << "accepted";
  } catch (const common::Error& e) {
    EXPECT_EQ(e.kind(), common::ErrorKind::kInvalidInput) << e.what();
    for (const std::string& word : words) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  }
}

// Another local user who makes the folder or the segment first gets it refused, not adopted:
// the actors never read weights from a file someone else can write. (Root plays that user,
// uid 65534, with chown; a folder or file of this user's with a wider mode is refused too.)
TEST(HostSegmentTest, AFolderOrSegmentOfAnotherUserOrWithAWiderModeIsRefusedAndNeverAdopted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to play another user";
  testing::TempDir shm;
  const std::string folder = shm.path() + "/rlrec-" + std::to_string(geteuid());
  ASSERT_EQ(mkdir(folder.c_str(), 0700), 0);
  ASSERT_EQ(chown(folder.c_str(), 65534, 65534), 0);
  ExpectRefused([&] { MakePrivateFolder(shm.path()); }, {folder, "uid 65534", "mode 0700"});
  ASSERT_EQ(chown(folder.c_str(), geteuid(), getegid()), 0);
  ASSERT_EQ(chmod(folder.c_str(), 0755), 0);
  ExpectRefused([&] { MakePrivateFolder(shm.path()); }, {folder, "mode 0755"});
  ExpectRefused([&] { HostSegment::Open(folder, kName, "run", Manifest()); }, {"mode 0755"});
  ASSERT_EQ(rmdir(folder.c_str()), 0);
  testing::TempDir elsewhere;
  ASSERT_EQ(symlink(elsewhere.path().c_str(), folder.c_str()), 0);
  ExpectRefused([&] { MakePrivateFolder(shm.path()); }, {folder, "a symlink"});
  ASSERT_EQ(unlink(folder.c_str()), 0);

  // In this user's folder, a segment file made first by another user (with a header the actors
  // would accept), one of this user's with a wider mode, and a symlink.
  ASSERT_EQ(MakePrivateFolder(shm.path()), folder);
  const std::string path = folder + "/" + kName;
  auto planted = HostSegment::Open(elsewhere.path(), kName, "run", Manifest());
  ASSERT_EQ(link(planted->path().c_str(), path.c_str()), 0);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  ExpectRefused([&] { HostSegment::Open(folder, kName, "run", Manifest()); },
                {path, "uid 65534", "mode 0600"});
  EXPECT_FALSE(HostSegment::RemoveIfUnused(path)) << "another user's file was removed";
  EXPECT_EQ(HostSegment::RemoveStaleSegments(folder), 0) << "another user's file was removed";
  ASSERT_EQ(chown(path.c_str(), geteuid(), getegid()), 0);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  ExpectRefused([&] { HostSegment::Open(folder, kName, "run", Manifest()); }, {"mode 0644"});
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink(planted->path().c_str(), path.c_str()), 0);
  ExpectRefused([&] { HostSegment::Open(folder, kName, "run", Manifest()); }, {"symlink"});
  EXPECT_EQ(planted->writes(), 0u) << "the symlink's target was written";
}

// A reader checks the state and the header against the seal its writer made at each swap, and
// does not act on one whose bytes, sums or version were changed behind the writer's back.
TEST(HostSegmentTest, AReaderRefusesAStateWhoseBytesOrHeaderWereChangedAfterItsWrite) {
  testing::TempDir dir;
  auto segment = ReceiverHoldingVersion1(dir.path());
  auto other = HostSegment::Open(dir.path(), kName, "run", Manifest());  // another process's view
  HostSegment::Reader reader(other);
  std::string why;
  ASSERT_TRUE(reader.TryBegin());
  const uint32_t copy = reader.copy();
  EXPECT_TRUE(reader.Check(&why)) << why;
  reader.End();

  uint8_t* state = segment->mutable_data(copy);
  state[123457] ^= 0x10;  // a flipped bit in the table
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_FALSE(reader.Check(&why));
  EXPECT_NE(why.find("bytes 122880 to 126976 do not match their sum"), std::string::npos) << why;
  reader.End();
  state[123457] ^= 0x10;

  RawHeader header(segment->path());
  header->copy[copy].version.store(777777);  // a version nobody published
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_FALSE(reader.Check(&why));
  EXPECT_NE(why.find("(version 777777) does not match its seal"), std::string::npos) << why;
  reader.End();
  header->copy[copy].version.store(1);
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_TRUE(reader.Check(&why)) << why;
  reader.End();
  EXPECT_TRUE(segment->CheckWhole(copy, &why)) << why;
  state[0] ^= 1;
  EXPECT_FALSE(segment->CheckWhole(copy, &why));
}

// A writer word naming a live process that is not the receiver (here pid 1) used to stop every
// reader for good: it is cleared, and the receiver asked to check the state; one naming a dead
// process is cleared.
TEST(HostSegmentTest, AWriterThatIsNotTheReceiverIsClearedAndARebuildAsked) {
  testing::TempDir dir;
  auto segment = ReceiverHoldingVersion1(dir.path());
  HostSegment::Reader reader(segment);
  RawHeader header(segment->path());
  header->writer.store(segment::WriterWord(1, segment->active()));
  const uint64_t asked = segment->rebuild_requests();
  EXPECT_FALSE(reader.TryBegin());
  EXPECT_EQ(header->writer.load(), 0u);
  EXPECT_EQ(segment->rebuild_requests(), asked + 1);
  ASSERT_TRUE(reader.TryBegin());
  reader.End();
  const pid_t dead = Fork([] { return 0; });
  ASSERT_EQ(Wait(dead), 0);
  header->writer.store(segment::WriterWord(dead, segment->active()));
  EXPECT_FALSE(reader.TryBegin());
  EXPECT_EQ(header->writer.load(), 0u);
  EXPECT_EQ(segment->rebuild_requests(), asked + 1);
  ASSERT_TRUE(reader.TryBegin());
  reader.End();
  // The receiver clears a word of its own that it is not writing under.
  header->writer.store(segment::WriterWord(getpid(), segment->active()));
  EXPECT_TRUE(segment->ClearStrayWriter());
  EXPECT_EQ(header->writer.load(), 0u);
}

// Anyone of this user can write the header: a heartbeat no receiver could have stamped (none,
// one far in the past or the future, a negative one, which overflowed the subtraction under
// fuzz_decoders) reads as a silent receiver, never as a fresh one.
TEST(HostSegmentTest, AHeartbeatNoReceiverCouldHaveStampedReadsAsSilence) {
  testing::TempDir dir;
  auto segment = ReceiverHoldingVersion1(dir.path());
  EXPECT_LT(segment->ReceiverSilenceS(), 1.0);
  RawHeader header(segment->path());
  for (int64_t stamp : {int64_t{0}, std::numeric_limits<int64_t>::min() + 1, int64_t{-5},
                        std::numeric_limits<int64_t>::max()}) {
    header->heartbeat_ns.store(stamp);
    EXPECT_EQ(segment->ReceiverSilenceS(), std::numeric_limits<double>::infinity()) << stamp;
  }
  segment->Heartbeat();
  EXPECT_LT(segment->ReceiverSilenceS(), 1.0);
}

// A receiver stopped with SIGSTOP keeps its lock; once silent past the timeout another process
// ends it, but only when the header's pid and start time still name it and it holds the file,
// and not when it resumes meanwhile; then that process is the receiver and writes on. The
// stopped one can never write again.
TEST(HostSegmentTest, AStoppedReceiverIsEndedAndReplacedOnlyWhenItsPidStillNamesIt) {
  testing::TempDir dir;
  auto segment = HostSegment::Open(dir.path(), kName, "run", Manifest());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t receiver = Fork([&] {
    auto mine = HostSegment::Open(dir.path(), kName, "run", Manifest());
    if (!mine->TryBecomeReceiver()) return 1;
    for (uint64_t version = 1;; ++version) {
      if (!Write(*mine, 1 - mine->active(), version)) return 2;
      if (version == 1 && write(ready[1], "r", 1) != 1) return 3;
      mine->Heartbeat();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  std::string what;
  EXPECT_FALSE(segment->TakeOverFromSilentReceiver(0.3, &what)) << what;
  ASSERT_EQ(kill(receiver, SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(segment->TakeOverFromSilentReceiver(0.3, &what)) << "not silent long enough yet";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_GE(segment->ReceiverSilenceS(), 0.3);

  // A header naming a live process that does not hold the segment, or the receiver's pid with
  // another start time (a reused pid): nobody is ended.
  const pid_t bystander = Fork([] {
    execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    return 1;
  });
  // Once it runs sleep, it holds none of this process's files (they close on exec).
  for (int i = 0; i < 500 && ReadComm(bystander) != "sleep\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(ReadComm(bystander), "sleep\n");
  RawHeader header(segment->path());
  const uint64_t start = header->receiver_start.load();
  ASSERT_EQ(start, ProcessStartTime(receiver));
  header->receiver_pid.store(bystander);
  header->receiver_start.store(ProcessStartTime(bystander));
  EXPECT_FALSE(segment->TakeOverFromSilentReceiver(0.3, &what));
  EXPECT_NE(what.find("not a process of this user holding the segment"), std::string::npos) << what;
  header->receiver_pid.store(receiver);
  header->receiver_start.store(start + 1);
  EXPECT_FALSE(segment->TakeOverFromSilentReceiver(0.3, &what));
  EXPECT_EQ(kill(bystander, 0), 0) << "a bystander was ended";
  kill(bystander, SIGKILL);
  Wait(bystander);

  header->receiver_start.store(start);
  // Resumed just as it is found silent: it stamps again, and is left alone.
  ASSERT_EQ(kill(receiver, SIGCONT), 0);
  EXPECT_FALSE(segment->TakeOverFromSilentReceiver(0.3, &what)) << what;
  ASSERT_EQ(kill(receiver, SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const uint64_t stopped_at = segment->writes();
  ASSERT_TRUE(segment->TakeOverFromSilentReceiver(0.3, &what)) << what;
  EXPECT_NE(what.find("took over"), std::string::npos) << what;
  EXPECT_NE(what.find("from receiver pid " + std::to_string(receiver)), std::string::npos) << what;
  EXPECT_EQ(Wait(receiver), 100 + SIGKILL);
  EXPECT_TRUE(segment->receiver());
  EXPECT_LT(segment->ReceiverSilenceS(), 0.1);
  EXPECT_EQ(segment->writes(), stopped_at) << "the stopped receiver wrote";
  ASSERT_TRUE(Write(*segment, 1 - segment->active(), 1000, 43));
  HostSegment::Reader reader(segment);
  ASSERT_TRUE(reader.TryBegin());
  EXPECT_EQ(segment->version(reader.copy()), 1000u);
  EXPECT_TRUE(HoldsPattern(*segment, reader.copy(), 1000));
  reader.End();
}

}  // namespace
}  // namespace rlrec::actors
