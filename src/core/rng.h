// rng.h — deterministic random numbers that do not depend on the standard library's distributions:
// xoshiro256** seeded through splitmix64, with streams keyed by (seed, stream, index), so sample i gets the same
// numbers whatever rank generates it and however many ranks there are.
#pragma once
#include <cstdint>

namespace s3e {

class Rng {
 public:
  // Independent stream for (seed, stream, index), e.g. (run seed, "sample"-tag, sample index).
  Rng(uint64_t seed, uint64_t stream = 0, uint64_t index = 0);

  uint64_t next_u64();
  double uniform();                      // [0, 1)
  double normal();                       // standard normal (Box-Muller, both values used)
  uint64_t below(uint64_t n);            // uniform integer in [0, n)

 private:
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// Stable 64-bit tag for a stream name ("directions", "sample", ...): FNV-1a.
uint64_t rng_stream_tag(const char* name);

}  // namespace s3e
