// progress.h — a progress line for long loops: on a terminal it redraws one line (count, rate, ETA); in a log
// file or under SLURM it writes a log line at most every `interval_s` seconds. Only rank 0 should show one.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace s3e {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled, double interval_s = 10.0);
  ~Progress();
  void advance(int64_t n = 1);
  void finish();

 private:
  void show(bool final);
  std::string label_;
  int64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  double interval_s_;
  std::chrono::steady_clock::time_point start_, last_shown_;
};

}  // namespace s3e
