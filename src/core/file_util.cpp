#include "core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/errors.h"

namespace fs = std::filesystem;

namespace s3e {

fs::path file_temp_path(const fs::path& final_path) {
  return final_path.parent_path() / fmt::format(".{}.tmp.{}", final_path.filename().string(), ::getpid());
}

void file_sync(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw TransientError(fmt::format("{}: cannot open to fsync: {}", path.string(), std::strerror(errno)));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw TransientError(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(err)));
}

void file_sync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems do not allow opening folders
  ::fsync(fd);
  ::close(fd);
}

void file_commit(const fs::path& temp_path, const fs::path& final_path) {
  file_sync(temp_path);
  std::error_code ec;
  fs::rename(temp_path, final_path, ec);
  if (ec) throw TransientError(fmt::format("cannot rename {} to {}: {}", temp_path.string(), final_path.string(), ec.message()));
  file_sync_dir(final_path.parent_path());
}

void file_write_atomic(const fs::path& path, const std::string& text) {
  fs::path tmp = file_temp_path(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(fmt::format("{}: cannot write here ({})", path.string(), std::strerror(errno)));
    out << text;
    if (!out.flush()) throw TransientError(fmt::format("{}: write failed", path.string()));
  }
  file_commit(tmp, path);
}

void file_ensure_writable_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw UsageError(fmt::format("output folder {} cannot be created: {}", dir.string(),
                                 ec ? ec.message() : "a file of that name exists"));
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("output folder {} is not writable: {}", dir.string(), std::strerror(errno)));
}

std::string file_read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot be read ({})", path.string(), std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace s3e
