// comm_watchdog.h — turns a collective that stays pending longer than a timeout into the job's fatal error
// ("error on rank R (watchdog): ..."), so a dead or stalled peer ends the job instead of hanging it until the
// SLURM time limit. A backend registers each collective when issued and unregisters it when complete; blocking
// point-to-point sends and receives are registered the same way, by their description.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "dist/comm_types.h"

namespace s3e {

class CommWatchdog {
 public:
  // Called once, on the watchdog thread, with the message. The default logs it and calls process_abort(75):
  // the blocked main thread cannot throw, so the whole job is brought down from here.
  using StallHandler = std::function<void(const std::string& message)>;

  CommWatchdog(double timeout_s, int rank, std::string backend, StallHandler on_stall = {});
  ~CommWatchdog();
  CommWatchdog(const CommWatchdog&) = delete;
  CommWatchdog& operator=(const CommWatchdog&) = delete;

  uint64_t begin(const CollectiveSignature& sig);
  // A blocking point-to-point call, described as comm_p2p_describe does ("recv from rank 0 (tag 7, ...)").
  uint64_t begin(const std::string& p2p_description);
  void end(uint64_t token);

 private:
  struct Pending {
    CollectiveSignature sig;
    std::chrono::steady_clock::time_point start;
    std::string p2p;  // non-empty: a point-to-point call, named by this instead of sig
  };
  void loop();

  double timeout_s_;
  int rank_;
  std::string backend_;
  StallHandler on_stall_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<uint64_t, Pending> pending_;
  uint64_t next_token_ = 1;
  bool stop_ = false, fired_ = false;
  std::thread thread_;
};

}  // namespace s3e
