// run_lock.h — one run at a time per run folder. Two jobs started on one folder (a requeue racing a manual rerun, a
// job array with a duplicated task) would interleave their item files and delete each other's checkpoints. A run
// holds an exclusive flock(2) on <run>/.lock for its whole life; the kernel releases it when the process ends,
// however it ends, so a killed run never leaves a stale lock behind. The file records the holder (host, pid, stage,
// start time) so that the refused run can name it.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace s3e {

struct RunLockHolder {
  std::string host, stage, started;
  long pid = 0;
  std::string describe() const;  // "host H, pid P (stage S, since T)"
};

class RunLock {
 public:
  // Takes the lock of `run_dir` (which must exist) for `stage`. Throws UsageError (exit 2) naming the holder when
  // another process holds it.
  RunLock(const std::filesystem::path& run_dir, const std::string& stage);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// Who holds the lock of `run_dir` now; nullopt when nobody does (for `s3editor status`). Never blocks.
std::optional<RunLockHolder> run_lock_holder(const std::filesystem::path& run_dir);

}  // namespace s3e
