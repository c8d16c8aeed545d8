#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"

using namespace s3e;

TEST(Rng, SameKeySameStreamDifferentKeyDifferentStream) {
  Rng a(7, 1, 42), b(7, 1, 42), c(7, 1, 43), d(8, 1, 42);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
    EXPECT_NE(x, d.next_u64());
  }
}

TEST(Rng, NormalHasUnitMomentsAndBelowIsInRange) {
  Rng r(1);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double v = r.normal();
    sum += v;
    sq += v * v;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  int counts[5] = {0};
  for (int i = 0; i < 50000; ++i) counts[r.below(5)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}
