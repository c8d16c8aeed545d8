// The synthetic world's generative model: directions, regions, identity, correlations, videos, labels.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/errors.h"
#include "synth/synth_world.h"

using namespace s3e;

namespace {
SynthSpec small_spec() {
  SynthSpec s;
  s.layers = 6;
  s.channels = 40;
  s.edit_layers = {0, 1, 2, 3};
  s.num_regions = 4;
  s.num_attributes = 8;
  for (int a = 0; a < 8; ++a) s.attribute_names.push_back("a" + std::to_string(a));
  s.frames_per_video = 1;
  return s;
}
double dot(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}
}  // namespace

TEST(SynthWorld, DirectionsAreUnitAndLiveOnTargetAndLeakRegionsOnly) {
  SynthWorld w(small_spec());
  const int64_t D = w.spec().dim();
  for (int a = 0; a < 8; ++a) {
    const float* d = &w.directions()[a * D];
    EXPECT_NEAR(dot(d, d, D), 1.0, 1e-5);
    double on_target = 0, on_leak = 0;
    for (int64_t i = 0; i < D; ++i) {
      int r = w.region_of_dim()[i];
      if (r < 0) ASSERT_EQ(d[i], 0.0f) << "direction outside the edit layers";
      else if (r == w.target_region()[a]) on_target += d[i] * d[i];
      else if (r == w.leak_region()[a]) on_leak += d[i] * d[i];
      else ASSERT_EQ(d[i], 0.0f) << "direction in a third region";
    }
    EXPECT_NE(w.target_region()[a], w.leak_region()[a]);
    // leak 0.2 relative to 1: energy split 1 : 0.04 (normalised).
    EXPECT_NEAR(on_leak / on_target, 0.04, 1e-4);
  }
  // Layers 4 and 5 are not editable.
  for (int64_t c = 0; c < 40; ++c) EXPECT_EQ(w.region_of_dim()[4 * 40 + c], -1);
}

TEST(SynthWorld, IdentityIsOrthogonalToDirectionsAndLabelsFollowStrengths) {
  SynthWorld w(small_spec());
  const int64_t D = w.spec().dim(), A = 8;
  std::vector<float> x(D), labels(A), s(A), id(D);
  for (int v = 0; v < 20; ++v) {
    w.generate_video(v, x.data(), labels.data(), s.data(), id.data());
    for (int a = 0; a < A; ++a) {
      EXPECT_NEAR(dot(id.data(), &w.directions()[a * D], D), 0.0, 1e-3);
      EXPECT_EQ(labels[a], s[a] > 0 ? 1.0f : 0.0f);
      // The projection of (x - mean - identity) on d_a recovers scale * s_a up to noise and direction overlap.
      std::vector<float> resid(D);
      for (int64_t i = 0; i < D; ++i) resid[i] = x[i] - w.mean()[i] - id[i];
      double proj = dot(resid.data(), &w.directions()[a * D], D);
      double expect = 0;
      for (int b = 0; b < A; ++b) expect += 3.0 * s[b] * dot(&w.directions()[a * D], &w.directions()[b * D], D);
      EXPECT_NEAR(proj, expect, 0.3);
    }
  }
}

TEST(SynthWorld, StrengthsHaveTheConfiguredCorrelation) {
  SynthSpec spec = small_spec();
  spec.pair_correlation = 0.6;
  SynthWorld w(spec);
  const int64_t D = spec.dim(), A = 8, n = 4000;
  std::vector<float> x(D), labels(A), s(A), id(D);
  double s01 = 0, s00 = 0, s11 = 0, s02 = 0;
  for (int v = 0; v < n; ++v) {
    w.generate_video(v, x.data(), labels.data(), s.data(), id.data());
    s01 += s[0] * s[1], s00 += s[0] * s[0], s11 += s[1] * s[1], s02 += s[0] * s[2];
  }
  EXPECT_NEAR(s01 / std::sqrt(s00 * s11), 0.6, 0.05);
  EXPECT_NEAR(s02 / n, 0.0, 0.05);
  EXPECT_NEAR(s00 / n, 1.0, 0.07);
}

TEST(SynthWorld, VideosKeepIdentityAndDriftSlowly) {
  SynthSpec spec = small_spec();
  spec.frames_per_video = 30;
  SynthWorld w(spec);
  const int64_t D = spec.dim(), A = 8, F = 30;
  std::vector<float> x(F * D), labels(F * A), s(F * A), id(F * D);
  w.generate_video(3, x.data(), labels.data(), s.data(), id.data());
  for (int f = 1; f < F; ++f) {
    for (int64_t i = 0; i < D; ++i) ASSERT_EQ(id[f * D + i], id[i]);
    for (int a = 0; a < A; ++a) EXPECT_LT(std::fabs(s[f * A + a] - s[(f - 1) * A + a]), 0.6);
  }
  // Same video index, same numbers; another index, other numbers.
  std::vector<float> x2(F * D), l2(F * A), s2(F * A), id2(F * D);
  w.generate_video(3, x2.data(), l2.data(), s2.data(), id2.data());
  EXPECT_EQ(x, x2);
  w.generate_video(4, x2.data(), l2.data(), s2.data(), id2.data());
  EXPECT_NE(x, x2);
}

TEST(SynthWorld, InvalidCorrelationIsAUsageError) {
  SynthSpec spec = small_spec();
  spec.correlation.assign(64, 0.0);
  for (int a = 0; a < 8; ++a) spec.correlation[a * 8 + a] = 1.0;
  spec.correlation[1] = spec.correlation[8] = 1.5;  // not positive definite
  EXPECT_THROW(SynthWorld w(spec), UsageError);
}
