// bench_allreduce.h — allreduce timing with the nccl-tests definitions: algbw = bytes / time and
// busbw = algbw * 2 (n - 1) / n (the bandwidth each link needs for a ring allreduce, comparable across rank counts).
// The VM this runs on is noisy: every number is a median over repeats.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

struct AllreduceBenchRow {
  size_t bytes = 0;
  int iterations = 0;
  double time_us = 0;  // median per allreduce, max over ranks
  double algbw_gbs = 0;
  double busbw_gbs = 0;
};

double bench_busbw(double bytes, double seconds, int ranks);

// Median over `repeats` of the per-call time of `fn` (called `iterations` times per repeat, ranks aligned by a
// barrier first; the slowest rank's time counts).
double bench_time_median(Communicator& comm, int repeats, int iterations, const std::function<void()>& fn);

// float32 sum allreduce, sizes min_bytes, 2*min_bytes, ..., max_bytes.
std::vector<AllreduceBenchRow> bench_allreduce_sweep(Communicator& comm, size_t min_bytes, size_t max_bytes, int repeats);

}  // namespace s3e
