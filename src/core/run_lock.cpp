#include "core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

#include "core/clock_text.h"
#include "core/errors.h"

namespace fs = std::filesystem;

namespace s3e {
namespace {

std::string read_fd(int fd) {
  std::string text;
  char buf[4096];
  if (lseek(fd, 0, SEEK_SET) < 0) return text;
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) text.append(buf, size_t(n));
  return text;
}

RunLockHolder holder_parse(const std::string& text) {
  RunLockHolder h;
  try {
    auto j = nlohmann::json::parse(text);
    h.host = j.value("host", "");
    h.pid = j.value("pid", 0L);
    h.stage = j.value("stage", "");
    h.started = j.value("started", "");
  } catch (const std::exception&) {
    h.host = "an unknown host";  // written by a holder that was killed mid-write: the lock itself still tells
  }
  return h;
}

}  // namespace

std::string RunLockHolder::describe() const {
  return fmt::format("host {}, pid {} (stage {}, since {})", host, pid, stage.empty() ? "?" : stage,
                     started.empty() ? "?" : started);
}

RunLock::RunLock(const fs::path& run_dir, const std::string& stage) {
  fs::path path = run_dir / ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw UsageError(fmt::format("{}: cannot open the run lock: {}", path.string(), std::strerror(errno)));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = err == EWOULDBLOCK ? holder_parse(read_fd(fd_)).describe() : std::strerror(err);
    ::close(fd_);
    fd_ = -1;
    throw UsageError(fmt::format("run folder {} is in use by another run: {}; wait for it to end or use another "
                                 "--run-dir", run_dir.string(), holder));
  }
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  std::string record = nlohmann::json{{"host", host}, {"pid", long(getpid())}, {"stage", stage},
                                      {"started", clock_utc_text()}}.dump() + "\n";
  // The record is informative only (the flock is the lock), so a short write is harmless.
  if (ftruncate(fd_, 0) == 0 && lseek(fd_, 0, SEEK_SET) == 0) {
    ssize_t ignored = write(fd_, record.data(), record.size());
    (void)ignored;
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

std::optional<RunLockHolder> run_lock_holder(const fs::path& run_dir) {
  fs::path path = run_dir / ".lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<RunLockHolder> holder;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) holder = holder_parse(read_fd(fd));
  else flock(fd, LOCK_UN);
  ::close(fd);
  return holder;
}

}  // namespace s3e
