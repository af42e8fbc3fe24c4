#include "learner/ranks/mpi_world.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "common/base/deadline.h"
#include "common/base/error.h"
#include "common/base/logging.h"

namespace rlrec::learner {
namespace {

// Polls `request` until it completes, calling `idle` between polls.
void Wait(MPI_Request* request, const char* what, double timeout_s,
          const std::function<void()>& idle) {
  const common::Deadline deadline = common::After(timeout_s);
  int done = 0;
  while (true) {
    CheckMpi(MPI_Test(request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    if (common::Clock::now() >= deadline) {
      throw common::Unavailable(std::string(what) + " did not complete within " +
                                std::to_string(timeout_s) +
                                " s: another learner rank is stuck or gone");
    }
    if (idle) idle();
    std::this_thread::yield();
  }
}

// MPI counts are ints: larger transfers go in pieces.
constexpr size_t kMaxCount = INT_MAX / 2;

// Message tags of CheckIn: a rank's values to rank 0, and rank 0's answer.
constexpr int kCheckInTag = 7101;
constexpr int kAnswerTag = 7102;

// `seconds` as "%g" prints it: "5", "0.5", "600".
std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

// "1", "1 and 3", "1, 2 and 3".
std::string RankList(const std::vector<int>& ranks) {
  std::string out;
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i > 0) out += i + 1 == ranks.size() ? " and " : ", ";
    out += std::to_string(ranks[i]);
  }
  return out;
}

// Gives up on receives still pending in `requests` (a lost rank's), so that their buffers can
// go: a cancelled receive completes at once; one that does not within a second keeps its
// buffer (`keep`) alive for good rather than risk a late write into freed memory.
void CancelPending(std::vector<MPI_Request>& requests, std::vector<double>* keep) {
  bool leaked = false;
  for (auto& request : requests) {
    if (request == MPI_REQUEST_NULL) continue;
    MPI_Cancel(&request);
    const common::Deadline deadline = common::After(1.0);
    int done = 0;
    while (!done && common::Clock::now() < deadline) {
      if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
    }
    if (!done && !leaked) {
      new std::vector<double>(std::move(*keep));  // deliberately never freed
      leaked = true;
    }
  }
}

}  // namespace

double WorkerPatience(double timeout_s) { return 2 * timeout_s + 60; }

bool LaunchedAsMpiRank() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

void CheckMpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw common::Internal(std::string(what) + " failed: " + std::string(message, length));
}

MpiWorld::MpiWorld() {
  if (!LaunchedAsMpiRank()) return;
  int provided = 0;
  CheckMpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  active_ = true;
  // Errors come back as codes, checked everywhere, instead of aborting inside MPI.
  CheckMpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  CheckMpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  CheckMpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  MPI_Comm local;
  CheckMpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
           "MPI_Comm_split_type");
  CheckMpi(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank");
  CheckMpi(MPI_Comm_free(&local), "MPI_Comm_free");
  // A stuck blocking collective ends the whole job, not this process alone: with mpirun told
  // to leave a failed rank's job running (launch/mpi-train), a lone abort would leave the
  // others waiting. MPI_Abort from the watchdog's thread is the one call made off the main
  // thread; the main thread is stuck inside MPI and never returns.
  SetLastWords({});
}

MpiWorld::~MpiWorld() {
  if (!active_) return;
  if (std::uncaught_exceptions() > 0) {
    MPI_Abort(MPI_COMM_WORLD, 1);
  } else {
    MPI_Finalize();
  }
}

std::vector<std::string> MpiWorld::AllGather(const std::string& value, double timeout_s,
                                             const std::function<void()>& idle) const {
  if (!active_) return {value};
  std::vector<double> lengths =
      AllGather(std::vector<double>{static_cast<double>(value.size())}, timeout_s, idle);
  std::vector<int> counts(size_), offsets(size_);
  int total = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = static_cast<int>(lengths[r]);
    offsets[r] = total;
    total += counts[r];
  }
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Request request;
  CheckMpi(MPI_Iallgatherv(value.data(), static_cast<int>(value.size()), MPI_CHAR, all.data(),
                           counts.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD, &request),
           "MPI_Iallgatherv");
  Wait(&request, "MPI_Iallgatherv", timeout_s, idle);
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], counts[r]));
  return out;
}

std::vector<double> MpiWorld::AllGather(const std::vector<double>& values, double timeout_s,
                                        const std::function<void()>& idle) const {
  if (!active_) return values;
  std::vector<double> all(values.size() * size_);
  MPI_Request request;
  CheckMpi(MPI_Iallgather(values.data(), static_cast<int>(values.size()), MPI_DOUBLE, all.data(),
                          static_cast<int>(values.size()), MPI_DOUBLE, MPI_COMM_WORLD, &request),
           "MPI_Iallgather");
  Wait(&request, "MPI_Iallgather", timeout_s, idle);
  return all;
}

std::vector<double> MpiWorld::CheckIn(const std::vector<double>& values, double timeout_s,
                                      const std::function<void()>& idle) const {
  if (!active_) return values;
  return rank_ == 0 ? CheckInAtLead(values, timeout_s, idle)
                    : CheckInFromWorker(values, timeout_s, idle);
}

std::vector<double> MpiWorld::CheckInFromWorker(const std::vector<double>& values, double timeout_s,
                                                const std::function<void()>& idle) const {
  const int count = static_cast<int>(values.size());
  std::vector<double> all(values.size() * size_);
  std::vector<MPI_Request> requests(2);
  CheckMpi(
      MPI_Isend(values.data(), count, MPI_DOUBLE, 0, kCheckInTag, MPI_COMM_WORLD, &requests[0]),
      "MPI_Isend");
  CheckMpi(MPI_Irecv(all.data(), static_cast<int>(all.size()), MPI_DOUBLE, 0, kAnswerTag,
                     MPI_COMM_WORLD, &requests[1]),
           "MPI_Irecv");
  const common::Deadline warn = common::After(timeout_s);
  const common::Deadline deadline = common::After(WorkerPatience(timeout_s));
  bool warned = false;
  while (true) {
    int done = 0;
    CheckMpi(MPI_Testall(2, requests.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    if (done) return all;
    const common::Clock::time_point now = common::Clock::now();
    if (!warned && now >= warn) {
      std::fprintf(stderr,
                   "rlrec: learner rank %d: rank 0 has not answered the check-in for %g s; "
                   "waiting up to %g s in all for it to checkpoint and end the job\n",
                   rank_, timeout_s, WorkerPatience(timeout_s));
      warned = true;
    }
    if (now >= deadline) {
      CancelPending(requests, &all);
      throw common::Unavailable("learner rank 0 did not answer the check-in within " +
                                Seconds(WorkerPatience(timeout_s)) +
                                " s: it stopped, hung or ended");
    }
    if (idle) idle();
    std::this_thread::yield();
  }
}

std::vector<double> MpiWorld::CheckInAtLead(const std::vector<double>& values, double timeout_s,
                                            const std::function<void()>& idle) const {
  const int count = static_cast<int>(values.size());
  std::vector<double> all(values.size() * size_);
  // Rank 0: one receive per other rank, so that whoever is missing can be named.
  std::copy(values.begin(), values.end(), all.begin());
  std::vector<MPI_Request> requests(size_, MPI_REQUEST_NULL);
  for (int r = 1; r < size_; ++r) {
    CheckMpi(MPI_Irecv(all.data() + r * values.size(), count, MPI_DOUBLE, r, kCheckInTag,
                       MPI_COMM_WORLD, &requests[r]),
             "MPI_Irecv");
  }
  const common::Deadline deadline = common::After(timeout_s);
  std::vector<int> failed;
  std::string why;
  while (true) {
    int pending = 0;
    for (int r = 1; r < size_; ++r) {
      if (requests[r] == MPI_REQUEST_NULL) continue;
      int done = 0;
      const int code = MPI_Test(&requests[r], &done, MPI_STATUS_IGNORE);
      if (code != MPI_SUCCESS) {
        char message[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(code, message, &length);
        failed.push_back(r);
        why += "rank " + std::to_string(r) + ": " + std::string(message, length) + "; ";
        requests[r] = MPI_REQUEST_NULL;
      } else if (!done) {
        ++pending;
      }
    }
    if (pending == 0 && failed.empty()) break;
    if (!failed.empty() || common::Clock::now() >= deadline) {
      // A failed transfer names its rank; otherwise everyone still missing at the deadline.
      std::vector<int> lost = failed;
      for (int r = 1; r < size_ && failed.empty(); ++r) {
        if (requests[r] != MPI_REQUEST_NULL) lost.push_back(r);
      }
      CancelPending(requests, &all);
      throw RanksLost(lost, "learner rank(s) " + RankList(lost) + " of " + std::to_string(size_) +
                                (failed.empty() ? " did not check in within " + Seconds(timeout_s) +
                                                      " s: stopped, hung or ended"
                                                : " failed to check in (" + why + ")"));
    }
    if (idle) idle();
    std::this_thread::yield();
  }
  std::vector<MPI_Request> answers(size_ - 1);
  for (int r = 1; r < size_; ++r) {
    CheckMpi(MPI_Isend(all.data(), static_cast<int>(all.size()), MPI_DOUBLE, r, kAnswerTag,
                       MPI_COMM_WORLD, &answers[r - 1]),
             "MPI_Isend");
  }
  for (auto& answer : answers) Wait(&answer, "MPI_Isend", timeout_s, idle);
  return all;
}

void MpiWorld::Broadcast(void* data, size_t bytes, int root, double timeout_s,
                         const std::function<void()>& idle) const {
  if (!active_) return;
  for (size_t done = 0; done < bytes; done += kMaxCount) {
    const size_t n = std::min(kMaxCount, bytes - done);
    MPI_Request request;
    CheckMpi(MPI_Ibcast(static_cast<char*>(data) + done, static_cast<int>(n), MPI_BYTE, root,
                        MPI_COMM_WORLD, &request),
             "MPI_Ibcast");
    Wait(&request, "MPI_Ibcast", timeout_s, idle);
  }
}

void MpiWorld::AllReduceSum(float* data, size_t count, double timeout_s) const {
  if (!active_) return;
  // The blocking call: Open MPI's non-blocking all-reduce measured 1.5-3x slower for
  // gradient-sized messages (tests/bench/allreduce_bench). The watchdog gives it a deadline.
  for (size_t done = 0; done < count; done += kMaxCount) {
    const size_t n = std::min(kMaxCount, count - done);
    watchdog_.Arm(timeout_s, "MPI_Allreduce");
    const int code = MPI_Allreduce(MPI_IN_PLACE, data + done, static_cast<int>(n), MPI_FLOAT,
                                   MPI_SUM, MPI_COMM_WORLD);
    watchdog_.Disarm();
    CheckMpi(code, "MPI_Allreduce");
  }
}

void MpiWorld::SetLastWords(std::function<void(const std::string& why)> last_words) const {
  if (!active_) return;
  watchdog_.SetExpiry([last_words = std::move(last_words)](const std::string& why) {
    std::fprintf(stderr, "rlrec: %s: a learner rank stopped, hung or ended inside it\n",
                 why.c_str());
    if (last_words) last_words(why);
    std::fprintf(stderr, "rlrec: ending the job\n");
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  });
}

void MpiWorld::Barrier(double timeout_s) const {
  if (!active_) return;
  MPI_Request request;
  CheckMpi(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
  Wait(&request, "MPI_Ibarrier", timeout_s, {});
}

ScopedLastWords::ScopedLastWords(const MpiWorld& world, bool active,
                                 std::function<void(const std::string& why)> words)
    : world_(world) {
  if (!active) return;
  world_.SetLastWords([words = std::move(words)](const std::string& why) {
    try {
      words(why);
    } catch (const std::exception& e) {
      RLREC_LOG(Error) << "the final checkpoint failed: " << e.what();
    }
  });
}

ScopedLastWords::~ScopedLastWords() { world_.SetLastWords({}); }

}  // namespace rlrec::learner
