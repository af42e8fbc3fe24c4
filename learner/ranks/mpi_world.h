#ifndef RLREC_LEARNER_RANKS_MPI_WORLD_H_
#define RLREC_LEARNER_RANKS_MPI_WORLD_H_

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/base/error.h"
#include "common/base/watchdog.h"

namespace rlrec::learner {

// True when a launcher (mpirun, or srun with PMI/PMIx) started this process as one rank of
// an MPI job: it left the rank in the environment.
bool LaunchedAsMpiRank();

// How long a rank other than 0 waits for rank 0 in CheckIn: twice `timeout_s` plus a minute.
double WorkerPatience(double timeout_s);

// Throws Error(kInternal) naming `what` and MPI's message when `code` is not MPI_SUCCESS.
void CheckMpi(int code, const char* what);

// A check-in that some learner ranks missed: they did not arrive before the deadline (a
// process that stopped, hung or ended), or their transfer failed. Thrown on rank 0 only.
class RanksLost : public common::Error {
 public:
  RanksLost(std::vector<int> ranks, const std::string& message)
      : common::Error(common::ErrorKind::kUnavailable, message), ranks_(std::move(ranks)) {}
  const std::vector<int>& ranks() const { return ranks_; }  // ascending

 private:
  std::vector<int> ranks_;
};

// The learner processes of one job. Started by an MPI launcher, it initialises MPI
// (MPI_THREAD_FUNNELED: only the constructing thread calls MPI) and finalises it at
// destruction; during unwinding from an exception it calls MPI_Abort instead, so that no
// other rank waits forever for this one. Started any other way it is a world of one and
// never touches MPI. One per process; not thread-safe.
//
// Every collective here waits at most `timeout_s` seconds, calling `idle` (when set) between
// polls so the caller keeps serving its sockets, and throws Error(kUnavailable) naming the
// operation at the deadline.
class MpiWorld {
 public:
  MpiWorld();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  bool active() const { return active_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the ranks on this host

  // Every rank's `value`, in rank order.
  std::vector<std::string> AllGather(const std::string& value, double timeout_s,
                                     const std::function<void()>& idle = {}) const;
  // Every rank's `values` (the same count on every rank), concatenated in rank order.
  std::vector<double> AllGather(const std::vector<double>& values, double timeout_s,
                                const std::function<void()>& idle = {}) const;
  // Every rank's `values` (the same count on every rank), concatenated in rank order, like
  // AllGather, but gathered at rank 0 point to point so that rank 0 knows who is missing:
  // past `timeout_s` it throws RanksLost naming the ranks that did not arrive (or whose
  // transfer failed). Other ranks log a warning at `timeout_s` and wait for rank 0 until
  // WorkerPatience(timeout_s), leaving it time to write a checkpoint and end the job, then
  // throw Error(kUnavailable).
  std::vector<double> CheckIn(const std::vector<double>& values, double timeout_s,
                              const std::function<void()>& idle = {}) const;
  // Copies `bytes` bytes at `data` from rank `root` to every rank.
  void Broadcast(void* data, size_t bytes, int root, double timeout_s,
                 const std::function<void()>& idle = {}) const;
  // Sums `count` floats at `data` across ranks, in place. A blocking call (the fast one):
  // nothing can interrupt it, so past `timeout_s` the watchdog says so, runs the last words
  // (SetLastWords) and ends the whole job (MPI_Abort).
  void AllReduceSum(float* data, size_t count, double timeout_s) const;
  // Waits until every rank gets here.
  void Barrier(double timeout_s) const;
  // What to do, on the watchdog's thread, when a blocking collective overstays its deadline,
  // before the job is ended: `why` says which call. For the lead's last checkpoint: the
  // stuck call holds only gradients, so the weights are whole. Empty: nothing. The callable
  // must stay valid until it is replaced.
  void SetLastWords(std::function<void(const std::string& why)> last_words) const;

 private:
  std::vector<double> CheckInFromWorker(const std::vector<double>& values, double timeout_s,
                                        const std::function<void()>& idle) const;
  std::vector<double> CheckInAtLead(const std::vector<double>& values, double timeout_s,
                                    const std::function<void()>& idle) const;

  bool active_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  mutable common::Watchdog watchdog_;
};

// Gives `world` last words (MpiWorld::SetLastWords) for its own lifetime, when `active` (the
// lead's); an exception they throw is logged, not let out on the watchdog's thread. `world`
// must outlive it.
class ScopedLastWords {
 public:
  ScopedLastWords(const MpiWorld& world, bool active,
                  std::function<void(const std::string& why)> words);
  ~ScopedLastWords();
  ScopedLastWords(const ScopedLastWords&) = delete;
  ScopedLastWords& operator=(const ScopedLastWords&) = delete;

 private:
  const MpiWorld& world_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_RANKS_MPI_WORLD_H_
