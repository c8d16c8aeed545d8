// The honest synthetic world (synth.preset = honest, docs/synth.md "The honest preset"): overlapping partner
// directions, rotated region subspaces orthogonal to a low-dimensional identity subspace, state-dependent
// directions, CelebA prevalences and correlations, noisy proxy labels at the configured rate, determinism.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "core/errors.h"
#include "store/celeba_attributes.h"
#include "synth/synth_celeba.h"
#include "synth/synth_stats.h"
#include "synth/synth_world.h"

using namespace s3e;

namespace {

SynthSpec honest_spec(int64_t attributes = 8, int64_t regions = 3) {
  SynthSpec s;
  s.preset = "honest";
  s.seed = 77;
  s.layers = 4;
  s.channels = 64;
  s.edit_layers = {0, 1, 2};
  s.num_regions = regions;
  s.num_attributes = attributes;
  for (int a = 0; a < attributes; ++a) s.attribute_names.push_back(fmt::format("a{}", a));
  s.identity_dims = 6;
  s.region_dims = 12;
  s.identity_scale = 4.0;
  s.frames_per_video = 1;
  return s;
}

// The W+ world of the preset itself: 40 CelebA attributes, 7 regions, 18x512, layers 0-10.
SynthSpec celeba_spec() {
  SynthSpec s;
  s.preset = "honest";
  s.seed = 1234;
  s.edit_layers = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  s.num_regions = 7;
  s.num_attributes = 40;
  s.attribute_names = celeba_attribute_names();
  s.identity_scale = 4.0;
  return s;
}

double dotf(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

// d_a(z) for identity coordinates z, as the generator builds it.
std::vector<double> direction_at(const SynthWorld& w, int a, const std::vector<double>& z) {
  const auto& sp = w.spec();
  const int64_t D = sp.dim(), k = sp.identity_dims;
  double wz = 0;
  for (int64_t j = 0; j < k; ++j) wz += w.rotation_weights()[a * k + j] * z[j];
  double t = sp.rotation_max * std::tanh(wz / sp.identity_scale);
  std::vector<double> d(D);
  for (int64_t i = 0; i < D; ++i)
    d[i] = std::cos(t) * w.directions()[a * D + i] + std::sin(t) * w.rotation_directions()[a * D + i];
  return d;
}

std::vector<double> identity_coords(const SynthWorld& w, const float* identity) {
  const int64_t D = w.spec().dim(), k = w.spec().identity_dims;
  std::vector<double> z(k);
  for (int64_t j = 0; j < k; ++j) z[j] = dotf(&w.identity_basis()[j * D], identity, D);
  return z;
}

}  // namespace

TEST(SynthHonest, StatisticsHelpers) {
  EXPECT_NEAR(normal_cdf(0), 0.5, 1e-15);
  EXPECT_NEAR(normal_quantile(0.975), 1.959964, 1e-5);
  EXPECT_NEAR(bivariate_normal_upper(0, 0, 0.5), 0.25 + std::asin(0.5) / (2 * M_PI), 1e-9);  // Sheppard
  EXPECT_NEAR(label_phi(0, 0, 0.5), 2 * std::asin(0.5) / M_PI, 1e-9);
  double rho = tetrachoric_rho(normal_quantile(1 - 0.42), normal_quantile(1 - 0.39), -0.67);
  EXPECT_NEAR(label_phi(normal_quantile(1 - 0.42), normal_quantile(1 - 0.39), rho), -0.67, 1e-6);
  // An inconsistent partial matrix (1-2 and 1-3 strongly negative, 2-3 fixed at 0) comes out positive definite.
  std::vector<double> t = {1, -0.9, -0.9, -0.9, 1, 0, -0.9, 0, 1};
  std::vector<bool> fixed = {true, true, true, true, true, true, true, true, true};
  auto c = correlation_complete(t, fixed, 3);
  std::vector<double> values, vectors;
  symmetric_eigen(c, 3, values, vectors);
  EXPECT_GT(*std::min_element(values.begin(), values.end()), 0.01);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(c[i * 3 + i], 1.0, 1e-12);
}

TEST(SynthHonest, PartnerDirectionsOverlapWithinTheRequestedRange) {
  SynthWorld w(honest_spec());
  const int64_t D = w.spec().dim(), A = w.spec().num_attributes;
  for (int a = 0; a < A; ++a) {
    const int p = w.partner()[a];
    ASSERT_GE(p, 0);
    EXPECT_EQ(w.partner()[p], a);
    EXPECT_NEAR(dotf(&w.directions()[a * D], &w.directions()[a * D], D), 1.0, 1e-5);
    EXPECT_NEAR(dotf(&w.rotation_directions()[a * D], &w.rotation_directions()[a * D], D), 1.0, 1e-5);
    EXPECT_NEAR(dotf(&w.directions()[a * D], &w.rotation_directions()[a * D], D), 0.0, 1e-5);
    EXPECT_NEAR(dotf(&w.directions()[a * D], &w.directions()[p * D], D), 0.45, 1e-5);  // at t = 0
  }
  // Across identities the directions turn, and partners keep a cosine in [0.3, 0.5].
  std::vector<float> x(D), labels(A), s(A), id(D);
  double lo = 1, hi = 0, turned = 0;
  for (int v = 0; v < 200; ++v) {
    w.generate_video(v, x.data(), labels.data(), s.data(), id.data());
    auto z = identity_coords(w, id.data());
    for (int a = 0; a < A; ++a) {
      auto da = direction_at(w, a, z), dp = direction_at(w, w.partner()[a], z);
      double c = 0, c0 = 0;
      for (int64_t i = 0; i < D; ++i) c += da[i] * dp[i], c0 += da[i] * w.directions()[a * D + i];
      lo = std::min(lo, c), hi = std::max(hi, c), turned = std::max(turned, std::acos(std::min(1.0, c0)));
    }
  }
  EXPECT_GE(lo, 0.3);
  EXPECT_LE(hi, 0.5);
  EXPECT_GT(turned, 0.3) << "directions should depend on the identity (radians turned at most)";
}

TEST(SynthHonest, RegionsAreOrthonormalRotatedSubspacesOrthogonalToIdentity) {
  SynthSpec spec = honest_spec();
  SynthWorld w(spec);
  const int64_t D = spec.dim(), R = spec.num_regions, m = spec.region_dims, k = spec.identity_dims, A = spec.num_attributes;
  const float* B = w.region_bases().data();
  const int64_t rows = R * m;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = i; j < rows; ++j)
      ASSERT_NEAR(dotf(B + i * D, B + j * D, D), i == j ? 1.0 : 0.0, 1e-5) << "rows " << i << ", " << j;
    for (int64_t j = 0; j < k; ++j) ASSERT_NEAR(dotf(B + i * D, &w.identity_basis()[j * D], D), 0.0, 1e-5);
    // Not axis-aligned: no row is concentrated on a few dims (a block region's rows are unit vectors of one dim).
    double max_sq = 0, sum4 = 0;
    for (int64_t d = 0; d < D; ++d) max_sq = std::max(max_sq, double(B[i * D + d]) * B[i * D + d]), sum4 += std::pow(B[i * D + d], 4);
    EXPECT_LT(max_sq, 0.1);
    EXPECT_GT(1 / sum4, 40.0) << "participation ratio of region row " << i;
    // Only editable layers (0-2 of 4).
    for (int64_t d = 3 * spec.channels; d < D; ++d) ASSERT_EQ(B[i * D + d], 0.0f);
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      ASSERT_NEAR(dotf(&w.identity_basis()[i * D], &w.identity_basis()[j * D], D), i == j ? 1.0 : 0.0, 1e-5);
  for (int64_t d = 0; d < D; ++d) ASSERT_EQ(w.region_of_dim()[d], -1);
  // Each direction lives in its target region's subspace plus (the partner's half of the overlap) its leak region.
  for (int a = 0; a < A; ++a) {
    std::vector<double> energy(R, 0.0);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < m; ++j) energy[r] += std::pow(dotf(B + (r * m + j) * D, &w.directions()[a * D], D), 2);
    double total = 0;
    for (double e : energy) total += e;
    EXPECT_NEAR(total, 1.0, 1e-5);
    const int t = w.target_region()[a], l = w.leak_region()[a];
    EXPECT_NEAR(energy[t], l >= 0 ? 1 - 0.45 / 2 : 1.0, 1e-5);
    if (l >= 0) {
      EXPECT_NEAR(energy[l], 0.45 / 2, 1e-5);
    }
  }
}

TEST(SynthHonest, LabelsAreNoisyProxiesAtTheConfiguredRate) {
  SynthSpec spec = honest_spec(6, 3);
  spec.label_noise = 0.15;
  SynthWorld w(spec);
  const int64_t D = spec.dim(), A = spec.num_attributes, n = 20000;
  std::vector<float> x(D), labels(A), clean(A), s(A), id(D);
  std::vector<double> pos(A, 0), pos_flipped(A, 0), neg(A, 0), neg_flipped(A, 0), label_pos(A, 0), true_pos(A, 0);
  for (int64_t v = 0; v < n; ++v) {
    w.generate_video(v, x.data(), labels.data(), s.data(), id.data(), clean.data());
    for (int a = 0; a < A; ++a) {
      const int p = w.partner()[a];
      // The clean label is the proxy [s_a + w s_p > t'_a], not the attribute.
      ASSERT_EQ(std::fabs(w.proxy_weights()[a]), 0.35);
      ASSERT_EQ(clean[a], s[a] + w.proxy_weights()[a] * s[p] > w.label_thresholds()[a] ? 1.0f : 0.0f);
      (clean[a] > 0 ? pos : neg)[a] += 1;
      if (labels[a] != clean[a]) (clean[a] > 0 ? pos_flipped : neg_flipped)[a] += 1;
      label_pos[a] += labels[a];
      true_pos[a] += s[a] > w.thresholds()[a];
    }
  }
  for (int a = 0; a < A; ++a) {
    const double p = w.prevalence()[a];
    EXPECT_NEAR(pos_flipped[a] / pos[a], 0.15, 0.03) << "attribute " << a << " (prevalence " << p << ")";
    EXPECT_NEAR(neg_flipped[a] / neg[a], 0.15 * p / (1 - p), 0.01) << "attribute " << a;
    EXPECT_NEAR(label_pos[a] / n, p, 0.015) << "the label prevalence is the attribute's";
    EXPECT_NEAR(true_pos[a] / n, p, 0.015);
  }
}

TEST(SynthHonest, DeterministicPerSeedAndVideo) {
  SynthSpec spec = honest_spec();
  spec.frames_per_video = 5;
  SynthWorld w1(spec), w2(spec);
  const int64_t D = spec.dim(), A = spec.num_attributes, F = 5;
  std::vector<float> x1(F * D), l1(F * A), s1(F * A), i1(F * D), x2(F * D), l2(F * A), s2(F * A), i2(F * D);
  w1.generate_video(9, x1.data(), l1.data(), s1.data(), i1.data());
  w2.generate_video(9, x2.data(), l2.data(), s2.data(), i2.data());
  EXPECT_EQ(x1, x2);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(w1.region_bases(), w2.region_bases());
  for (int f = 1; f < F; ++f)
    for (int64_t d = 0; d < D; ++d) ASSERT_EQ(i1[f * D + d], i1[d]) << "identity is fixed along a video";
  spec.seed = 78;
  SynthWorld w3(spec);
  w3.generate_video(9, x2.data(), l2.data(), s2.data(), i2.data());
  EXPECT_NE(x1, x2);
}

TEST(SynthHonest, TooManyRegionDimsIsAUsageError) {
  SynthSpec spec = honest_spec();
  spec.region_dims = 80;  // 3 x 80 + 6 > 192 editable dims
  EXPECT_THROW(SynthWorld w(spec), UsageError);
}

// The preset's own world: CelebA prevalences and correlations, measured on 4000 identities (printed for
// docs/synth.md), with loose bounds: labels are noisy proxies, so their correlations differ from the targets.
TEST(SynthHonest, CelebaPresetStatistics) {
  SynthWorld w(celeba_spec());
  const int64_t D = w.spec().dim(), A = 40, n = 4000;
  const auto& names = celeba_attribute_names();
  std::vector<float> x(D), labels(A), s(A), id(D);
  std::vector<std::vector<float>> L(n, std::vector<float>(A)), T(n, std::vector<float>(A));
  for (int64_t v = 0; v < n; ++v) {
    w.generate_video(v, x.data(), labels.data(), s.data(), id.data());
    for (int a = 0; a < A; ++a) L[v][a] = labels[a], T[v][a] = s[a] > w.thresholds()[a];
  }
  auto phi = [&](const std::vector<std::vector<float>>& M, int a, int b) {
    double pa = 0, pb = 0, pab = 0;
    for (auto& row : M) pa += row[a], pb += row[b], pab += row[a] * row[b];
    pa /= n, pb /= n, pab /= n;
    return (pab - pa * pb) / std::sqrt(pa * (1 - pa) * pb * (1 - pb));
  };
  std::cout << "attribute prevalence (label, measured / CelebA):";
  for (int a = 0; a < A; ++a) {
    double p = 0;
    for (auto& row : L) p += row[a];
    p /= n;
    std::cout << fmt::format(" {} {:.3f}/{:.3f};", names[a], p, celeba_prevalence()[a]);
    EXPECT_NEAR(p, celeba_prevalence()[a], 0.03) << names[a];
  }
  std::cout << "\nlabel phi (attribute truth | labels | CelebA):\n";
  for (auto& st : celeba_label_correlations()) {
    double truth = phi(T, st.a, st.b), lab = phi(L, st.a, st.b);
    std::cout << fmt::format("  {} - {}: {:+.2f} | {:+.2f} | {:+.2f}\n", names[st.a], names[st.b], truth, lab, st.phi);
    EXPECT_EQ(truth > 0, st.phi > 0) << names[st.a] << " - " << names[st.b];
    EXPECT_NEAR(truth, st.phi, 0.2) << names[st.a] << " - " << names[st.b];
  }
  // Partner cosines at t = 0 and a sample of non-partner cosines.
  double non_partner_max = 0, non_partner_sq = 0;
  int pairs = 0;
  for (int a = 0; a < A; ++a)
    for (int b = a + 1; b < A; ++b) {
      double c = dotf(&w.directions()[a * D], &w.directions()[b * D], D);
      if (w.partner()[a] == b) EXPECT_NEAR(c, 0.45, 1e-5);
      else non_partner_max = std::max(non_partner_max, std::fabs(c)), non_partner_sq += c * c, ++pairs;
    }
  std::cout << fmt::format("non-partner |cos|: max {:.3f}, rms {:.3f} over {} pairs\n", non_partner_max,
                           std::sqrt(non_partner_sq / pairs), pairs);
  EXPECT_LT(non_partner_max, 0.45);
}
