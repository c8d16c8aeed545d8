#include "core/clock_text.h"

#include <chrono>
#include <ctime>

namespace s3e {

std::string clock_utc_text() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double clock_steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double clock_seconds_since(double start) { return clock_steady_seconds() - start; }

}  // namespace s3e
