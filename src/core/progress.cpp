#include "core/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>

namespace s3e {

Progress::Progress(std::string label, int64_t total, bool enabled, double interval_s)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(::isatty(STDERR_FILENO)),
      interval_s_(tty_ ? 0.2 : interval_s), start_(std::chrono::steady_clock::now()), last_shown_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_shown_).count() >= interval_s_) {
    last_shown_ = now;
    show(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) show(true);
}

void Progress::show(bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string eta = (rate > 0 && total_ > done_) ? fmt::format(", eta {:.0f}s", (total_ - done_) / rate) : "";
  std::string line = total_ > 0 ? fmt::format("{}: {}/{} ({:.0f}%), {:.1f}/s{}", label_, done_, total_,
                                              100.0 * done_ / total_, rate, eta)
                                : fmt::format("{}: {}, {:.1f}/s", label_, done_, rate);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
    std::fflush(stderr);
  } else {
    spdlog::info("{}{}", line, final ? fmt::format(" done in {:.1f}s", elapsed) : "");
  }
}

}  // namespace s3e
