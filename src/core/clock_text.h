// clock_text.h — the two clocks the run records use: wall time as UTC text ("2026-12-02T18:40:00Z", in item
// records, run locks and run manifests) and a monotonic clock in seconds for durations.
#pragma once
#include <string>

namespace s3e {

std::string clock_utc_text();   // now, "YYYY-MM-DDTHH:MM:SSZ"
double clock_steady_seconds();  // seconds on the steady clock (only differences mean anything)
// Seconds since `start`, a clock_steady_seconds() value (phase timings: t = clock_steady_seconds(); ...;
// timings["decode"] += clock_seconds_since(t)).
double clock_seconds_since(double start);

}  // namespace s3e
