// GoogleTest main for all s3editor test binaries: initialises MPI once (world size 1 without mpiexec), so the
// same binary serves unit tests and tests run under mpiexec at several rank counts.
#include <gtest/gtest.h>

#include "core/log.h"
#include "dist/process_context.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  s3e::MpiSession mpi(&argc, &argv);
  const auto& ctx = s3e::process_context();
  s3e::log_init(ctx.rank, ctx.world_size, "warn");
  // Only rank 0 prints the full report; other ranks print failures only.
  if (ctx.rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  // Agree on the outcome so that mpiexec's exit code reflects a failure on any rank.
  int any = 0;
  MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
