#include "dist/bench_allreduce.h"

#include <mpi.h>

#include <algorithm>

namespace s3e {

double bench_busbw(double bytes, double seconds, int ranks) {
  return bytes / seconds / 1e9 * 2.0 * (ranks - 1) / ranks;
}

double bench_time_median(Communicator& comm, int repeats, int iterations, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    comm.barrier();
    double start = MPI_Wtime();
    for (int i = 0; i < iterations; ++i) fn();
    double per_call = (MPI_Wtime() - start) / iterations;
    comm.allreduce(&per_call, 1, DType::f64, ReduceOp::max);
    times.push_back(per_call);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

std::vector<AllreduceBenchRow> bench_allreduce_sweep(Communicator& comm, size_t min_bytes, size_t max_bytes,
                                                     int repeats) {
  std::vector<AllreduceBenchRow> rows;
  std::vector<float> buffer(std::max<size_t>(1, max_bytes / sizeof(float)), 1.0f);
  // Warm-up over the whole range first: the first calls set up shared-memory segments and protocol state.
  for (size_t bytes = sizeof(float); bytes <= max_bytes; bytes *= 4)
    for (int i = 0; i < 3; ++i) comm.allreduce(buffer.data(), bytes / sizeof(float), DType::f32, ReduceOp::sum);
  std::fill(buffer.begin(), buffer.end(), 1.0f);
  for (size_t bytes = std::max<size_t>(min_bytes, sizeof(float)); bytes <= max_bytes; bytes *= 2) {
    size_t count = bytes / sizeof(float);
    // Enough calls per repeat that small sizes are not all timer noise, few for the big ones.
    int iterations = static_cast<int>(std::clamp<size_t>((size_t{16} << 20) / bytes, 2, 200));
    comm.allreduce(buffer.data(), count, DType::f32, ReduceOp::sum);  // warm-up (connections, buffers)
    AllreduceBenchRow row;
    row.bytes = bytes;
    row.iterations = iterations;
    double seconds = bench_time_median(comm, repeats, iterations,
                                       [&] { comm.allreduce(buffer.data(), count, DType::f32, ReduceOp::sum); });
    row.time_us = seconds * 1e6;
    row.algbw_gbs = bytes / seconds / 1e9;
    row.busbw_gbs = bench_busbw(static_cast<double>(bytes), seconds, comm.size());
    rows.push_back(row);
    std::fill(buffer.begin(), buffer.begin() + count, 1.0f);  // keep values finite (sums grow by size each call)
  }
  return rows;
}

}  // namespace s3e
