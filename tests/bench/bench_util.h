// bench_util.h — helpers shared by the benchmark programs: timing, and checked file I/O so that a baseline that
// failed to open, read or write is an error naming the path and the reason, never a number in the table.
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace s3e::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// A failed benchmark step: main() prints "<program>: error: <what>" and exits 1.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string errno_text(int e) { return std::strerror(e); }

// The folder a benchmark writes its scratch files into must exist and be writable. It is not created: a typo in
// --dir would otherwise scatter gigabytes of scratch files somewhere unexpected. Writability is checked by creating
// and removing a probe file (permission bits say nothing for root, or on a read-only mount).
inline void require_writable_dir(const std::filesystem::path& dir, const std::string& option) {
  std::error_code ec;
  auto st = std::filesystem::status(dir, ec);
  if (ec || !std::filesystem::exists(st))
    throw BenchError(option + " " + dir.string() + ": " + (ec ? ec.message() : "No such file or directory") +
                     " (the output folder must exist; create it first)");
  if (!std::filesystem::is_directory(st)) throw BenchError(option + " " + dir.string() + ": Not a directory");
  const std::filesystem::path probe = dir / (".bench_probe." + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    int e = errno;
    throw BenchError(option + " " + dir.string() + ": cannot write into the folder: " + errno_text(e));
  }
  bool ok = ::write(fd, "x", 1) == 1;
  int e = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  if (!ok) throw BenchError(option + " " + dir.string() + ": cannot write into the folder: " + errno_text(e));
}

inline int open_or_throw(const std::filesystem::path& path, int flags, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    int e = errno;
    throw BenchError("open " + path.string() + ": " + errno_text(e));
  }
  return fd;
}

// write(2) of all bytes (short writes continue), or BenchError naming the file.
inline void write_all(int fd, const void* data, size_t bytes, const std::filesystem::path& path) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      throw BenchError("write " + path.string() + ": " + errno_text(e));
    }
    p += n, bytes -= size_t(n);
  }
}

// read(2) of exactly `bytes` (short reads continue), or BenchError naming the file (a short file included).
inline void read_all(int fd, void* data, size_t bytes, const std::filesystem::path& path) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    ssize_t n = ::read(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      throw BenchError("read " + path.string() + ": " + errno_text(e));
    }
    if (n == 0) throw BenchError("read " + path.string() + ": file ends " + std::to_string(bytes) + " bytes early");
    p += n, bytes -= size_t(n);
  }
}

inline void fsync_or_throw(int fd, const std::filesystem::path& path) {
  if (::fsync(fd) != 0) {
    int e = errno;
    throw BenchError("fsync " + path.string() + ": " + errno_text(e));
  }
}

inline void close_or_throw(int fd, const std::filesystem::path& path) {
  if (::close(fd) != 0) {
    int e = errno;
    throw BenchError("close " + path.string() + ": " + errno_text(e));
  }
}

}  // namespace s3e::bench
