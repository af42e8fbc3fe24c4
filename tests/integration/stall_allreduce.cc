// A fault for tests, through MPI's profiling interface (no hook in rlrec's code): preloaded
// into the learner ranks of a job (LD_PRELOAD), it stops rank RLREC_STALL_RANK (SIGSTOP) as it
// enters its RLREC_STALL_AT-th MPI_Allreduce, so that the other ranks wait for it inside
// theirs: the stall the learner's watchdog must turn into last words.
#include <mpi.h>

#include <csignal>
#include <cstdlib>

extern "C" int MPI_Allreduce(const void* send, void* receive, int count, MPI_Datatype type,
                             MPI_Op op, MPI_Comm comm) {
  static int calls = 0;
  const char* stall_rank = std::getenv("RLREC_STALL_RANK");
  const char* stall_at = std::getenv("RLREC_STALL_AT");
  int rank = -1;
  PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (stall_rank != nullptr && stall_at != nullptr && rank == std::atoi(stall_rank) &&
      ++calls == std::atoi(stall_at)) {
    std::raise(SIGSTOP);
  }
  return PMPI_Allreduce(send, receive, count, type, op, comm);
}
