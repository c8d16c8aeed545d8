// bench_buckets.h — the gradient-path benchmarks of bench-allreduce, measured side by side in one run (repeats
// interleaved, medians): fused buckets vs one allreduce per parameter; busbw of the bucketed path vs one raw
// MPI_Allreduce of the same bytes in a flat buffer; time per training step with and without overlapping the
// allreduce with backward.
#pragma once
#include <cstddef>
#include <string>

#include "dist/communicator.h"

namespace s3e {

struct BucketBenchOptions {
  int layers = 64;       // Linear layers: 2 parameter tensors each
  int width = 256;
  int batch = 64;        // rows per step, for the step-time measurement
  int threads = 1;      // torch intra-op threads
  int repeats = 7;
  int iterations = 5;    // calls per repeat
  size_t cap_bytes = size_t{25} << 20;
  size_t first_cap_bytes = size_t{1} << 20;
};

struct BucketBenchResult {
  size_t tensors = 0, bytes = 0, buckets = 0;
  double per_param_ms = 0, bucketed_ms = 0, bucket_comm_ms = 0, raw_flat_ms = 0;
  double bucketed_busbw_gbs = 0, bucket_comm_busbw_gbs = 0, raw_busbw_gbs = 0;
  double step_compute_ms = 0, step_no_overlap_ms = 0, step_overlap_ms = 0;
  size_t launched_during_backward = 0;
};

// Collective over `comm` (which must be the mpi backend: the raw baseline calls MPI on MPI_COMM_WORLD).
BucketBenchResult bench_buckets_run(Communicator& comm, const BucketBenchOptions& options);
// The result as the lines bench-allreduce prints.
std::string bench_buckets_format(const BucketBenchResult& result, const BucketBenchOptions& options, int ranks);

}  // namespace s3e
