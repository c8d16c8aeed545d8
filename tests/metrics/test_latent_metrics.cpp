// Latent metrics on hand-made worlds with known answers: an edit exactly along d_a succeeds with preservation 0,
// identity 1 and locality = d_a's energy share in its target region; an edit into another region lowers locality
// and identity by the amounts computed by hand; strengths are least-squares coordinates (directions overlap);
// classifier judgements; the accumulator; the held-out split; INI lookup.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/latent_eval_result.h"
#include "metrics/latent_metrics.h"
#include "metrics/synth_truth.h"

using namespace s3e;

namespace {

constexpr double k_scale = 3.0;

torch::Tensor unit(int64_t dim, int64_t i) {
  auto v = torch::zeros({dim});
  v[i] = 1;
  return v;
}

// D = 12 flat dims: region 0 = dims 0-3, region 1 = 4-7, region 2 = 8-9, dims 10-11 belong to no region.
// d0 = (e0 + 0.2 e4) / |.|  (target region 0, leaks into region 1), d1 = e4 (region 1, overlaps d0),
// d2 = e9 (region 2). Dims 2, 8, 11 are orthogonal to every direction.
SynthTruth hand_truth(double threshold = 0.0) {
  const int64_t D = 12;
  auto d0 = unit(D, 0) + 0.2 * unit(D, 4);
  d0 = d0 / d0.norm();
  auto directions = torch::stack({d0, unit(D, 4), unit(D, 9)});
  auto region = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1, 2, 2, -1, -1}, torch::kLong);
  return synth_truth_make(directions, torch::linspace(-0.5, 0.5, D), region, torch::tensor({0, 1, 2}),
                          torch::tensor({1, 0, 0}), k_scale, threshold);
}

// x = mean + scale * sum_a s_a d_a + identity, identity = 2 e2 + e11 (orthogonal to the directions).
torch::Tensor hand_latent(const SynthTruth& t, const torch::Tensor& s) {
  auto id = 2 * unit(12, 2) + unit(12, 11);
  return (t.mean + k_scale * torch::mv(t.directions.t(), s) + id).unsqueeze(0);
}

}  // namespace

TEST(LatentMetrics, EditAlongTrueDirectionIsPerfect) {
  auto t = hand_truth();
  auto s = torch::tensor({-0.5f, 0.3f, 1.0f});
  auto x = hand_latent(t, s);
  auto x_edit = x + k_scale * 1.0 * t.directions[0].unsqueeze(0);  // s_0: -0.5 -> 0.5
  auto m = truth_edit_metrics(t, x, x_edit, s.unsqueeze(0), torch::tensor({0}), torch::tensor({1.0f}));
  EXPECT_EQ(m.success.item<float>(), 1.0f);
  EXPECT_NEAR(m.preservation.item<float>(), 0.0, 1e-6);  // d0 overlaps d1: only least-squares coordinates give 0
  EXPECT_NEAR(m.identity.item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(m.locality.item<float>(), 1.0 / 1.04, 1e-6);  // d0's energy in region 0: 1 / (1 + 0.2^2)
  EXPECT_NEAR(m.over_editing.item<float>(), 0.0, 1e-6);    // the rest is in its leak region
  EXPECT_NEAR(m.drift.item<float>(), k_scale / x.norm().item<float>(), 1e-6);
  // Half the way does not cross the threshold.
  auto half = truth_edit_metrics(t, x, x + k_scale * 0.4 * t.directions[0].unsqueeze(0), s.unsqueeze(0),
                                 torch::tensor({0}), torch::tensor({1.0f}));
  EXPECT_EQ(half.success.item<float>(), 0.0f);
}

TEST(LatentMetrics, StrengthsAreLeastSquaresCoordinates) {
  auto t = hand_truth();
  auto s = torch::tensor({0.7f, -1.2f, 0.1f});
  auto x = hand_latent(t, s);
  // The true strengths come back exactly from x - mean, although d0 and d1 are not orthogonal.
  auto recovered = truth_strength_delta(t, x - t.mean);
  EXPECT_TRUE(torch::allclose(recovered.squeeze(0), s, 1e-5, 1e-5)) << recovered;
  EXPECT_TRUE(torch::allclose(truth_identity(t, x).squeeze(0), 2 * unit(12, 2) + unit(12, 11), 1e-5, 1e-5));
  // An edit along d1 changes only s_1 (a plain <dx, d0> would report 0.2 / sqrt(1.04) of it on attribute 0).
  auto ds = truth_strength_delta(t, k_scale * 0.5 * t.directions[1].unsqueeze(0)).squeeze(0);
  EXPECT_NEAR(ds[0].item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(ds[1].item<float>(), 0.5, 1e-6);
  EXPECT_NEAR(ds[2].item<float>(), 0.0, 1e-6);
}

TEST(LatentMetrics, EditIntoAnotherRegionLowersLocalityAndIdentity) {
  auto t = hand_truth();
  auto s = torch::tensor({-0.5f, 0.3f, 1.0f});
  auto x = hand_latent(t, s);
  // Pure off-target edit: one unit along e8 (region 2, orthogonal to every direction) for attribute 0.
  auto off = truth_edit_metrics(t, x, x + unit(12, 8).unsqueeze(0), s.unsqueeze(0), torch::tensor({0}),
                                torch::tensor({1.0f}));
  EXPECT_EQ(off.success.item<float>(), 0.0f);
  EXPECT_NEAR(off.preservation.item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(off.locality.item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(off.over_editing.item<float>(), 1.0, 1e-6);
  // identity goes from 2 e2 + e11 (|.|^2 = 5) to 2 e2 + e8 + e11 (|.|^2 = 6): cos = 5 / sqrt(30).
  EXPECT_NEAR(off.identity.item<float>(), 5.0 / std::sqrt(30.0), 1e-6);
  // Mixed: the right edit plus one unit in region 2. Energies: 9 along d0 (9/1.04 in region 0, the rest in the
  // leak region 1) and 1 in region 2.
  auto mixed = truth_edit_metrics(t, x, x + k_scale * t.directions[0].unsqueeze(0) + unit(12, 8).unsqueeze(0),
                                  s.unsqueeze(0), torch::tensor({0}), torch::tensor({1.0f}));
  EXPECT_EQ(mixed.success.item<float>(), 1.0f);
  EXPECT_NEAR(mixed.locality.item<float>(), (9.0 / 1.04) / 10.0, 1e-6);
  EXPECT_NEAR(mixed.over_editing.item<float>(), 0.1, 1e-6);
  EXPECT_NEAR(mixed.identity.item<float>(), 5.0 / std::sqrt(30.0), 1e-6);
  // Touching another attribute: an extra 0.4 along d2 shows as preservation error 0.4 / (A - 1) = 0.2.
  auto touch = truth_edit_metrics(t, x, x + k_scale * (t.directions[0] + 0.4 * t.directions[2]).unsqueeze(0),
                                  s.unsqueeze(0), torch::tensor({0}), torch::tensor({1.0f}));
  EXPECT_NEAR(touch.preservation.item<float>(), 0.2, 1e-6);
  EXPECT_NEAR(touch.identity.item<float>(), 1.0, 1e-6);
}

TEST(LatentMetrics, RemovalAndThresholdAndBatch) {
  auto t = hand_truth(/*threshold=*/0.25);
  // Two samples editing attribute 1 downwards (both have it: s_1 = 0.6 > 0.25) by 0.2 and 0.5 strength units.
  auto s = torch::tensor({{0.f, 0.6f, 0.f}, {0.f, 0.6f, 0.f}});
  auto x = torch::cat({hand_latent(t, s[0]), hand_latent(t, s[1])});
  auto dx = torch::stack({-k_scale * 0.2 * t.directions[1], -k_scale * 0.5 * t.directions[1]});
  auto m = truth_edit_metrics(t, x, x + dx, s, torch::tensor({1, 1}), torch::tensor({-1.0f, -1.0f}));
  EXPECT_EQ(m.success[0].item<float>(), 0.0f);  // 0.4 is still above 0.25
  EXPECT_EQ(m.success[1].item<float>(), 1.0f);  // 0.1 is below
  // The same edit asked in the wrong direction fails.
  auto wrong = truth_edit_metrics(t, x, x + dx, s, torch::tensor({1, 1}), torch::tensor({1.0f, 1.0f}));
  EXPECT_EQ(wrong.success.sum().item<float>(), 1.0f);  // the first stays above the threshold: "has it" holds
  // A null edit: no energy, locality and over-editing 0, identity 1, drift 0.
  auto null = truth_edit_metrics(t, x, x.clone(), s, torch::tensor({1, 1}), torch::tensor({-1.0f, -1.0f}));
  EXPECT_EQ(null.locality.sum().item<float>(), 0.0f);
  EXPECT_EQ(null.over_editing.sum().item<float>(), 0.0f);
  EXPECT_EQ(null.drift.sum().item<float>(), 0.0f);
  EXPECT_NEAR(null.identity.mean().item<float>(), 1.0, 1e-6);
}

TEST(LatentMetrics, JudgeMetrics) {
  auto before = torch::tensor({{-1.f, 2.f, -3.f}, {-1.f, 2.f, -3.f}, {1.f, 2.f, -3.f}});
  auto after = torch::tensor({{0.5f, 1.f, -3.f}, {0.5f, -1.f, -3.f}, {0.5f, 2.f, -3.f}});
  // Rows 0, 1 add attribute 0 (succeed); row 2 asks to remove it but the logit stays positive (fails).
  auto m = judge_edit_metrics(before, after, torch::tensor({0, 0, 0}), torch::tensor({1.f, 1.f, -1.f}));
  EXPECT_TRUE(torch::equal(m.success, torch::tensor({1.f, 1.f, 0.f})));
  EXPECT_TRUE(torch::allclose(m.preservation, torch::tensor({0.5f, 1.5f, 0.f})));
  EXPECT_TRUE(torch::allclose(m.other_flips, torch::tensor({0.f, 0.5f, 0.f})));
}

TEST(LatentMetrics, AccumulatorMacroAverages) {
  MetricAccumulator acc(3, {"success", "drift"});
  acc.add_count(0, 2);
  acc.add(0, "success", torch::tensor({1.f, 0.f}));
  acc.add(0, "drift", torch::tensor({0.1f, 0.3f}));
  acc.add_count(1, 4);
  acc.add(1, "success", torch::tensor({1.f, 1.f, 1.f, 1.f}));
  EXPECT_DOUBLE_EQ(acc.mean(0, "success"), 0.5);
  EXPECT_NEAR(acc.mean(0, "drift"), 0.2, 1e-7);
  EXPECT_DOUBLE_EQ(acc.macro_mean({0, 1}, "success"), 0.75);  // per-attribute means averaged, not pooled (5/6)
  EXPECT_TRUE(std::isnan(acc.mean(2, "success")));          // no samples
  EXPECT_DOUBLE_EQ(acc.macro_mean({0, 1, 2}, "success"), 0.75);
  EXPECT_TRUE(std::isnan(acc.macro_mean({}, "success")));
  EXPECT_THROW(acc.add(0, "identity", torch::tensor({1.f})), std::logic_error);
  MetricAccumulator copy(3, {"success", "drift"});
  copy.set_flat(acc.flat());
  EXPECT_DOUBLE_EQ(copy.macro_mean({0, 1}, "success"), 0.75);
}

