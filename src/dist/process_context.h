// process_context.h — who this process is in the job: rank, world size, local rank and node, all from MPI
// (MPI_Comm_split_type), never from SLURM_* variables (under mpirun every rank sees SLURM_PROCID=0).
// A plain single process is world size 1. One MpiSession lives in main() for the whole program.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace s3e {

struct ProcessContext {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;   // rank among the processes on this node (pins GPUs)
  int local_size = 1;
  int node_index = 0;   // 0..node_count-1, ordered by the lowest rank on each node
  int node_count = 1;
  std::string host;
  bool is_root() const { return rank == 0; }
};

// Initialises MPI (thread level FUNNELED) and fills the process context; finalises on destruction.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

// The context of this process; valid after MpiSession was constructed (world size 1 before).
const ProcessContext& process_context();

// Brings the whole job down with `exit_code`: MPI_Abort when several ranks run (so no rank waits forever
// in a collective), plain exit otherwise.
[[noreturn]] void process_abort(int exit_code);

}  // namespace s3e
