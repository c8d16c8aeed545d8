// bench_util.h — timing helpers shared by the benchmark programs.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace s3e::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace s3e::bench
