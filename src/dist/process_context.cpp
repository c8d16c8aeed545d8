#include "dist/process_context.h"

#include <unistd.h>

#include <cstdlib>

namespace s3e {

namespace {
ProcessContext g_context;
bool g_initialised_here = false;
}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    g_initialised_here = true;
  }
  // Errors in MPI calls come back as codes we turn into exceptions with the rank in them.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  ProcessContext ctx;
  MPI_Comm_rank(MPI_COMM_WORLD, &ctx.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ctx.world_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &ctx.local_rank);
  MPI_Comm_size(local, &ctx.local_size);
  MPI_Comm_free(&local);
  // Node index: number the node leaders (local rank 0) in rank order.
  int is_leader = ctx.local_rank == 0 ? 1 : 0, leaders_before = 0;
  MPI_Exscan(&is_leader, &leaders_before, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (ctx.rank == 0) leaders_before = 0;
  int my_node = is_leader ? leaders_before : -1;
  // Every rank on a node takes its leader's index: the max over the node of my_node.
  MPI_Comm node_comm;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, ctx.rank, MPI_INFO_NULL, &node_comm);
  MPI_Allreduce(&my_node, &ctx.node_index, 1, MPI_INT, MPI_MAX, node_comm);
  MPI_Comm_free(&node_comm);
  MPI_Allreduce(&is_leader, &ctx.node_count, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  ctx.host = host;
  g_context = ctx;
}

MpiSession::~MpiSession() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (g_initialised_here && !finalised) MPI_Finalize();
}

const ProcessContext& process_context() { return g_context; }

void process_abort(int exit_code) {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised && !finalised && g_context.world_size > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace s3e
