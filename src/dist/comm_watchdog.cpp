#include "dist/comm_watchdog.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "core/log.h"
#include "dist/process_context.h"

namespace s3e {

CommWatchdog::CommWatchdog(double timeout_s, int rank, std::string backend, StallHandler on_stall)
    : timeout_s_(timeout_s), rank_(rank), backend_(std::move(backend)), on_stall_(std::move(on_stall)) {
  if (!on_stall_) {
    on_stall_ = [rank](const std::string& message) {
      spdlog::error("{}", log_format_rank_error(rank, "watchdog", message));
      spdlog::default_logger()->flush();
      process_abort(static_cast<int>(ExitCode::temporary));
    };
  }
  thread_ = std::thread([this] { loop(); });
}

CommWatchdog::~CommWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t CommWatchdog::begin(const CollectiveSignature& sig) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t token = next_token_++;
  pending_[token] = Pending{sig, std::chrono::steady_clock::now(), {}};
  return token;
}

uint64_t CommWatchdog::begin(const std::string& p2p_description) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t token = next_token_++;
  pending_[token] = Pending{CollectiveSignature{}, std::chrono::steady_clock::now(), p2p_description};
  return token;
}

void CommWatchdog::end(uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.erase(token);
}

void CommWatchdog::loop() {
  // Poll a few times per timeout (at most once a second): a late detection by a fraction of the timeout is fine.
  auto period = std::chrono::duration<double>(std::min(1.0, std::max(0.01, timeout_s_ / 8)));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, period, [this] { return stop_; });
    if (stop_ || fired_ || pending_.empty()) continue;
    auto now = std::chrono::steady_clock::now();
    // Tokens grow with issue order, so the first entry is the oldest collective still pending.
    const Pending& oldest = pending_.begin()->second;
    double waited = std::chrono::duration<double>(now - oldest.start).count();
    if (waited < timeout_s_) continue;
    fired_ = true;
    std::string message =
        oldest.p2p.empty()
            ? fmt::format("collective {} on backend {} has not completed after {:.1f} s (timeout {:g} s): a rank is "
                          "stalled, dead or issued a different collective",
                          collective_describe(oldest.sig), backend_, waited, timeout_s_)
            : fmt::format("{} on backend {} has not completed after {:.1f} s (timeout {:g} s): the peer is stalled, "
                          "dead or never posted the matching call",
                          oldest.p2p, backend_, waited, timeout_s_);
    lock.unlock();
    on_stall_(message);
    lock.lock();
  }
}

}  // namespace s3e
