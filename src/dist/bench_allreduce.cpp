#include "dist/bench_allreduce.h"

#include <fmt/format.h>
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
  // The raw baseline is MPI on CPU buffers: only beside the mpi backend (nccl's buffers would be on the GPU).
  bool raw = comm.backend() == "mpi";
  auto raw_allreduce = [&](size_t count) {
    MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
  // Warm-up over the whole range first: the first calls set up shared-memory segments and protocol state.
  for (size_t bytes = sizeof(float); bytes <= max_bytes; bytes *= 4)
    for (int i = 0; i < 3; ++i) comm.allreduce(buffer.data(), bytes / sizeof(float), DType::f32, ReduceOp::sum);
  std::fill(buffer.begin(), buffer.end(), 1.0f);
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  for (size_t bytes = std::max<size_t>(min_bytes, sizeof(float)); bytes <= max_bytes; bytes *= 2) {
    size_t count = bytes / sizeof(float);
    // Enough calls per repeat that small sizes are not all timer noise, few for the big ones.
    int iterations = static_cast<int>(std::clamp<size_t>((size_t{16} << 20) / bytes, 2, 200));
    comm.allreduce(buffer.data(), count, DType::f32, ReduceOp::sum);  // warm-up (connections, buffers)
    if (raw) raw_allreduce(count);
    // Interleaved repeats: the communicator and raw MPI see the same slice of the VM's noise.
    std::vector<double> comm_times, raw_times;
    for (int r = 0; r < repeats; ++r) {
      comm_times.push_back(bench_time_median(
          comm, 1, iterations, [&] { comm.allreduce(buffer.data(), count, DType::f32, ReduceOp::sum); }));
      if (raw) raw_times.push_back(bench_time_median(comm, 1, iterations, [&] { raw_allreduce(count); }));
      std::fill(buffer.begin(), buffer.begin() + count, 1.0f);  // keep values finite (sums grow by size each call)
    }
    AllreduceBenchRow row;
    row.bytes = bytes;
    row.iterations = iterations;
    double seconds = median(comm_times);
    row.time_us = seconds * 1e6;
    row.algbw_gbs = bytes / seconds / 1e9;
    row.busbw_gbs = bench_busbw(static_cast<double>(bytes), seconds, comm.size());
    if (raw) {
      double raw_seconds = median(raw_times);
      row.raw_time_us = raw_seconds * 1e6;
      row.raw_busbw_gbs = bench_busbw(static_cast<double>(bytes), raw_seconds, comm.size());
    }
    rows.push_back(row);
  }
  return rows;
}

namespace {
std::string bench_size_text(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}
}  // namespace

std::string bench_allreduce_cliff(const std::vector<AllreduceBenchRow>& rows, bool raw) {
  // Below 1 MiB busbw still climbs with size (latency-bound), so a drop there is noise, not a cliff.
  double best = 0;
  size_t best_bytes = 0;
  for (const auto& row : rows) {
    double busbw = raw ? row.raw_busbw_gbs : row.busbw_gbs;
    if (busbw <= 0) return "";
    if (row.bytes < (size_t{1} << 20)) continue;
    if (best > 0 && busbw < 0.5 * best) {
      const AllreduceBenchRow* before = &row - 1;
      double before_busbw = raw ? before->raw_busbw_gbs : before->busbw_gbs;
      return fmt::format("{}: busbw falls {:.1f}x from {} ({:.2f} GB/s) to {} ({:.2f} GB/s); best below it {:.2f} "
                         "GB/s at {}",
                         raw ? "raw MPI_Allreduce" : "communicator", before_busbw / busbw, bench_size_text(before->bytes),
                         before_busbw, bench_size_text(row.bytes), busbw, best, bench_size_text(best_bytes));
    }
    if (busbw > best) {
      best = busbw;
      best_bytes = row.bytes;
    }
  }
  return "";
}

std::string bench_allreduce_format(const std::vector<AllreduceBenchRow>& rows, size_t max_message_bytes) {
  std::string out = fmt::format("# communicator: messages of at most {} (max_message_bytes); raw: one MPI_Allreduce "
                                "on MPI_COMM_WORLD\n{:>12} {:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>9}\n",
                                max_message_bytes ? bench_size_text(max_message_bytes) : "any size", "bytes", "iters",
                                "time_us", "algbw_GB/s", "busbw_GB/s", "raw_time_us", "raw_busbw", "comm/raw");
  const AllreduceBenchRow* at_16m = nullptr;
  for (const auto& row : rows) {
    if (row.bytes == (size_t{16} << 20)) at_16m = &row;
    if (row.raw_time_us > 0)
      out += fmt::format("{:>12} {:>6} {:>12.2f} {:>12.3f} {:>12.3f} {:>12.2f} {:>12.3f} {:>9.2f}\n", row.bytes,
                         row.iterations, row.time_us, row.algbw_gbs, row.busbw_gbs, row.raw_time_us, row.raw_busbw_gbs,
                         row.busbw_gbs / row.raw_busbw_gbs);
    else
      out += fmt::format("{:>12} {:>6} {:>12.2f} {:>12.3f} {:>12.3f}\n", row.bytes, row.iterations, row.time_us,
                         row.algbw_gbs, row.busbw_gbs);
  }
  for (bool raw : {true, false}) {
    std::string cliff = bench_allreduce_cliff(rows, raw);
    if (!cliff.empty()) out += "# cliff: " + cliff + "\n";
  }
  // The acceptance figure of docs/benchmarks.md: the worst busbw above 16 MiB relative to 16 MiB's.
  if (at_16m) {
    double worst = 1e300;
    size_t worst_bytes = 0;
    for (const auto& row : rows)
      if (row.bytes > at_16m->bytes && row.busbw_gbs < worst) {
        worst = row.busbw_gbs;
        worst_bytes = row.bytes;
      }
    if (worst_bytes)
      out += fmt::format("# communicator above 16 MiB: worst busbw {:.3f} GB/s at {} = {:.2f} of 16 MiB's {:.3f}\n",
                         worst, bench_size_text(worst_bytes), worst / at_16m->busbw_gbs, at_16m->busbw_gbs);
  }
  return out;
}

}  // namespace s3e
