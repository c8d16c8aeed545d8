// bench_store — latent store throughput vs raw file I/O of the same bytes, measured side by side in one run.
//   sequential write: RowFileWriter (256-row appends) vs write(2) of the same bytes, each followed by fsync
//   sequential read:  LatentStore::read_range_f32 (256-row blocks) vs read(2) of a raw file of the same bytes
//   random reads:     256-row random minibatches (sorted or not, as a sampler gives them) in rows/s, page cache
//                     warm, and cold (pages dropped with posix_fadvise(DONTNEED) before each repetition)
// Usage: bench_store [--dir DIR] [--rows N] [--repeat R]   (defaults: /tmp, 30000 rows of 18x512 = 1.05 GiB, 3)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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
using s3e::bench::Clock;
using s3e::bench::median;
using s3e::bench::seconds_since;

namespace {


void drop_cache(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
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
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const size_t row_bytes = 18 * 512 * 4;
  for (int64_t r = 0; r < rows; r += k_batch) {
    size_t bytes = std::min(k_batch, rows - r) * row_bytes;
    if (::write(fd, block.data(), bytes) != static_cast<ssize_t>(bytes)) std::perror("write");
  }
  ::fsync(fd);
  ::close(fd);
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
  int fd = ::open(path.c_str(), O_RDONLY);
  const size_t row_bytes = 18 * 512 * 4;
  for (int64_t r = 0; r < rows; r += k_batch) {
    size_t bytes = std::min(k_batch, rows - r) * row_bytes;
    if (::read(fd, buf.data(), bytes) != static_cast<ssize_t>(bytes)) std::perror("read");
  }
  ::close(fd);
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

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = "/tmp";
  int64_t rows = 30000;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--rows") rows = std::stoll(argv[i + 1]);
    else if (a == "--repeat") repeat = std::stoi(argv[i + 1]);
  }
  fs::path store = dir / "bench_store.h5", raw = dir / "bench_store.raw";
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
      RowFileWriter index(dir / "bench_store_index.h5", k_store_schema, k_store_schema_version, {});
      for (auto& c : store_columns({18, 512}, 0))
        index.write_virtual_column(c, {store.filename().string()}, {rows});
      index.set_attr_int64s("latent_shape", {18, 512});
      index.finalize();
    }
    rand_index.push_back(read_random(dir / "bench_store_index.h5", rows, 400, block, 50 + k));
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
  fs::remove(dir / "bench_store_index.h5");
  fs::remove(store);
  fs::remove(raw);
  return 0;
}
