// bench_store — latent store throughput vs raw file I/O of the same bytes, measured side by side in one run.
//   sequential write: RowFileWriter (256-row appends) vs write(2) of the same bytes, each followed by fsync
//   sequential read:  LatentStore::read_range_f32 (256-row blocks) vs read(2) of a raw file of the same bytes
//   random reads:     256-row random minibatches (sorted or not, as a sampler gives them) in rows/s, page cache
//                     warm, and cold (pages dropped with posix_fadvise(DONTNEED) before each repetition)
// Usage: bench_store [--dir DIR] [--rows N] [--repeat R]   (defaults: /tmp, 30000 rows of 18x512 = 1.05 GiB, 3)
// DIR must exist and be writable; any failed open/read/write (store or raw side) is an error naming the file and the
// reason, exit 1 (a failed baseline must never be printed as a throughput).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

#include "bench/bench_util.h"
using namespace s3e;
namespace fs = std::filesystem;
using s3e::bench::BenchError;
using s3e::bench::Clock;
using s3e::bench::median;
using s3e::bench::seconds_since;

namespace {


void drop_cache(const fs::path& p) {
  // A cache that was not dropped would make the "cold" row a warm one: fail rather than mislabel it.
  int fd = bench::open_or_throw(p, O_RDONLY);
  if (::fdatasync(fd) != 0) throw BenchError("fdatasync " + p.string() + ": " + bench::errno_text(errno));
  if (int e = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
    throw BenchError("posix_fadvise(DONTNEED) " + p.string() + ": " + bench::errno_text(e));
  bench::close_or_throw(fd, p);
}

const int64_t k_batch = 256;

double write_store(const fs::path& path, int64_t rows, const std::vector<float>& block) {
  auto t = Clock::now();
  RowFileWriter w(path, k_store_schema, k_store_schema_version, store_columns({18, 512}, 0));
  w.set_attr_int64s("latent_shape", {18, 512});
  std::vector<int64_t> zeros(k_batch, 0);
  for (int64_t r = 0; r < rows; r += k_batch) {
    int64_t n = std::min(k_batch, rows - r);
    w.append(k_col_latents, block.data(), n);
    w.append(k_col_labels, nullptr, n);
    w.append(k_col_video_index, zeros.data(), n);
    w.append(k_col_frame_index, zeros.data(), n);
  }
  w.finalize();  // includes fsync
  return seconds_since(t);
}

double write_raw(const fs::path& path, int64_t rows, const std::vector<float>& block) {
  auto t = Clock::now();
  int fd = bench::open_or_throw(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const size_t row_bytes = 18 * 512 * 4;
  for (int64_t r = 0; r < rows; r += k_batch) {
    size_t bytes = std::min(k_batch, rows - r) * row_bytes;
    bench::write_all(fd, block.data(), bytes, path);
  }
  bench::fsync_or_throw(fd, path);
  bench::close_or_throw(fd, path);
  return seconds_since(t);
}

double read_store_sequential(const fs::path& path, int64_t rows, std::vector<float>& buf) {
  auto t = Clock::now();
  LatentStore s(path);
  for (int64_t r = 0; r < rows; r += k_batch) s.read_range_f32(k_col_latents, r, std::min(k_batch, rows - r), buf.data());
  return seconds_since(t);
}

double read_raw_sequential(const fs::path& path, int64_t rows, std::vector<float>& buf) {
  auto t = Clock::now();
  int fd = bench::open_or_throw(path, O_RDONLY);
  const size_t row_bytes = 18 * 512 * 4;
  for (int64_t r = 0; r < rows; r += k_batch) {
    size_t bytes = std::min(k_batch, rows - r) * row_bytes;
    bench::read_all(fd, buf.data(), bytes, path);
  }
  bench::close_or_throw(fd, path);
  return seconds_since(t);
}

// rows/s of random minibatches; `batches` batches of 256 distinct random rows.
double read_random(const fs::path& path, int64_t rows, int batches, std::vector<float>& buf, uint64_t seed) {
  LatentStore s(path);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> all(rows);
  std::iota(all.begin(), all.end(), 0);
  auto t = Clock::now();
  for (int b = 0; b < batches; ++b) {
    std::vector<int64_t> idx(k_batch);
    for (auto& i : idx) i = static_cast<int64_t>(rng() % rows);
    s.read_latents(idx, buf.data());
  }
  return batches * k_batch / seconds_since(t);
}

int run(fs::path dir, int64_t rows, int repeat) {
  bench::require_writable_dir(dir, "--dir");
  fs::path store = dir / "bench_store.h5", raw = dir / "bench_store.raw", index_path = dir / "bench_store_index.h5";
  // Scratch files go away on success and on error alike (a failed run must not leave a GiB behind).
  struct Cleanup {
    std::vector<fs::path> files;
    ~Cleanup() {
      std::error_code ec;
      for (auto& f : files) fs::remove(f, ec);
    }
  } cleanup{{store, raw, index_path}};
  const double gib = rows * 18.0 * 512 * 4 / (1 << 30);
  std::printf("bench_store: %lld rows of 18x512 float32 = %.2f GiB, batches of %lld rows, %d repetitions (median), "
              "1 thread, chunk = 1 row (36 KiB), no compression, dir %s\n",
              static_cast<long long>(rows), gib, static_cast<long long>(k_batch), repeat, dir.c_str());
  std::vector<float> block(k_batch * 18 * 512);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (auto& v : block) v = normal(rng);
  std::vector<double> ws, wr, rs, rr, rand_warm, rand_cold, rand_index;
  for (int k = 0; k < repeat; ++k) {
    wr.push_back(gib / write_raw(raw, rows, block));
    ws.push_back(gib / write_store(store, rows, block));
    // Warm the page cache for both, then read.
    read_raw_sequential(raw, rows, block);
    read_store_sequential(store, rows, block);
    rr.push_back(gib / read_raw_sequential(raw, rows, block));
    rs.push_back(gib / read_store_sequential(store, rows, block));
    rand_warm.push_back(read_random(store, rows, 400, block, k));
    {
      // The same file behind a virtual-dataset index, as sharded stages write it (what the trainers read).
      RowFileWriter index(index_path, k_store_schema, k_store_schema_version, {});
      for (auto& c : store_columns({18, 512}, 0))
        index.write_virtual_column(c, {store.filename().string()}, {rows});
      index.set_attr_int64s("latent_shape", {18, 512});
      index.finalize();
    }
    rand_index.push_back(read_random(index_path, rows, 400, block, 50 + k));
    drop_cache(store);
    rand_cold.push_back(read_random(store, rows, 20, block, 100 + k));
  }
  double mws = median(ws), mwr = median(wr), mrs = median(rs), mrr = median(rr);
  std::printf("%-34s %10s %10s %8s\n", "measure", "store", "raw", "ratio");
  std::printf("%-34s %8.2f GiB/s %6.2f GiB/s %8.2f\n", "sequential write (+fsync)", mws, mwr, mws / mwr);
  std::printf("%-34s %8.2f GiB/s %6.2f GiB/s %8.2f\n", "sequential read (page cache)", mrs, mrr, mrs / mrr);
  std::printf("%-34s %10.0f rows/s\n", "random 256-row batches, warm", median(rand_warm));
  std::printf("%-34s %10.0f rows/s\n", "random 256-row batches, via index", median(rand_index));
  std::printf("%-34s %10.0f rows/s\n", "random 256-row batches, cold", median(rand_cold));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage = "usage: bench_store [--dir DIR] [--rows N] [--repeat R]\n";
  fs::path dir = "/tmp";
  int64_t rows = 30000;
  int repeat = 3;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::printf("%s", usage);
        return 0;
      }
      if (i + 1 >= argc || (a != "--dir" && a != "--rows" && a != "--repeat")) {
        std::fprintf(stderr, "bench_store: %s: unknown option or missing value\n%s", a.c_str(), usage);
        return 2;
      }
      std::string v = argv[++i];
      if (a == "--dir") dir = v;
      else if (a == "--rows") rows = std::stoll(v);
      else repeat = std::stoi(v);
    }
    if (rows < 1 || repeat < 1) {
      std::fprintf(stderr, "bench_store: --rows and --repeat must be >= 1\n");
      return 2;
    }
    return run(dir, rows, repeat);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_store: error: %s\n", e.what());
    return 1;
  }
}
