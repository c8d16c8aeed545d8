// bench_allreduce.h — allreduce timing with the nccl-tests definitions: algbw = bytes / time and
// busbw = algbw * 2 (n - 1) / n (the bandwidth each link needs for a ring allreduce, comparable across rank counts).
// The VM this runs on is noisy: every number is a median over repeats. Beside the communicator, each size is timed
// as one raw MPI_Allreduce on MPI_COMM_WORLD (mpi backend only; repeats interleaved), so the table shows what the
// communicator's chunking (CommOptions::max_message_bytes) buys, and a bandwidth cliff is named when one shows.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "dist/communicator.h"

namespace s3e {

struct AllreduceBenchRow {
  size_t bytes = 0;
  int iterations = 0;
  double time_us = 0;  // median per allreduce, max over ranks
  double algbw_gbs = 0;
  double busbw_gbs = 0;
  // One raw MPI_Allreduce of the whole message on MPI_COMM_WORLD, no chunking (0 when not measured).
  double raw_time_us = 0;
  double raw_busbw_gbs = 0;
};

double bench_busbw(double bytes, double seconds, int ranks);

// Median over `repeats` of the per-call time of `fn` (called `iterations` times per repeat, ranks aligned by a
// barrier first; the slowest rank's time counts).
double bench_time_median(Communicator& comm, int repeats, int iterations, const std::function<void()>& fn);

// float32 sum allreduce, sizes min_bytes, 2*min_bytes, ..., max_bytes; with the raw MPI column when comm is the
// mpi backend.
std::vector<AllreduceBenchRow> bench_allreduce_sweep(Communicator& comm, size_t min_bytes, size_t max_bytes, int repeats);

// "raw MPI: busbw falls 21.3x from 16 MiB (6.40 GB/s) to 32 MiB (0.30 GB/s)" for the first size >= 1 MiB whose
// busbw is below half of the best at smaller sizes, for the raw column and for the communicator; empty when none.
std::string bench_allreduce_cliff(const std::vector<AllreduceBenchRow>& rows, bool raw);
// The table (one line per size: bytes, iterations, communicator time/algbw/busbw, raw time/busbw, ratio) and the
// cliff lines, as bench-allreduce prints them. max_message_bytes is the communicator's chunk, for the header.
std::string bench_allreduce_format(const std::vector<AllreduceBenchRow>& rows, size_t max_message_bytes);

}  // namespace s3e
