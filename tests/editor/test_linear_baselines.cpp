// The two stronger linear baselines (docs/algorithms.md, "Baselines"): linear_orthogonal (the edit of a is
// orthogonal to every other attribute's embedding) and linear_masked (the linear edit kept on a's target regions,
// rescaled to the linear edit's step along e_a), on a hand-built context whose answers are computed by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_util.h"
#include "core/config.h"
#include "core/errors.h"
#include "editor/editor_apply.h"
#include "editor/editor_io.h"

using namespace s3e;

namespace {

// De = 12 in 3 regions of 4 dims (0, 1: clusters; 2: shared). Three unit embeddings:
//   e0 = (1,1,1,1, .5,.5,0,0, 0,0,0,0) / sqrt(4.5)    energy 4/4.5 in region 0, 0.5/4.5 in region 1
//   e1 = 0.5 e0 + sqrt(0.75) u, u = (dims 6, 7) / sqrt(2)   cos(e0, e1) = 0.5 exactly; u is orthogonal to e0
//   e2 = (dims 8..11) / 2                               in the shared region, orthogonal to both
// Experts: a0 -> 0 (targets regions 0 and 2), a1 -> 1 (regions 1 and 2), a2 -> 0.
EditorContext overlap_context(double scale = 1.7) {
  EditorContext ctx;
  ctx.latent_shape = {12};
  ctx.edit_layers = {0};
  ctx.edit_index = torch::arange(12, torch::kLong);
  ctx.attribute_names = {"a", "b", "c"};
  ctx.train_attributes = {0, 1};
  ctx.heldout_attributes = {2};
  auto e0 = torch::tensor({1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}) / std::sqrt(4.5);
  auto u = torch::zeros({12}, torch::kDouble);
  u[6] = u[7] = 1 / std::sqrt(2.0);
  auto e1 = 0.5 * e0 + std::sqrt(0.75) * u;
  auto e2 = torch::zeros({12}, torch::kDouble);
  e2.slice(0, 8, 12).fill_(0.5);
  ctx.embeddings = torch::stack({e0, e1, e2}).to(torch::kFloat);
  ctx.clusters.k = 2;
  ctx.clusters.dim = 12;
  auto f = cluster_feature(ctx.embeddings, "energy");
  ctx.clusters.centroids.assign(f[0].data_ptr<float>(), f[0].data_ptr<float>() + 12);
  ctx.clusters.centroids.insert(ctx.clusters.centroids.end(), f[1].data_ptr<float>(), f[1].data_ptr<float>() + 12);
  ctx.clusters.assignment = {0, 1};
  ctx.routing = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({3, 2});
  ctx.expert_of_attribute = {0, 1, 0};
  ctx.regions.num_regions = 3;
  ctx.regions.region_of_dim = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
  ctx.label_correlation = torch::eye(3);
  ctx.identity_basis = std::get<0>(torch::linalg_qr(ctx.embeddings.t())).t().contiguous();
  ctx.linear_scale = scale;
  return ctx;
}

EditorModel model_of(const EditorContext& ctx, const std::string& transform, const std::string& mask_regions = "targets",
                     double share = 0.8) {
  EditorOptions o;
  o.transform = transform;
  o.mask_regions = mask_regions;
  o.mask_energy_share = share;
  return EditorModel(editor_spec_make(o, ctx));
}

// The edit z' - z of every row of z for attribute a at strength g.
torch::Tensor edit_of(EditorModel& model, const EditorContext& ctx, const torch::Tensor& z, int a, double g) {
  const int64_t n = z.size(0);
  auto out = editor_apply(model, ctx, z, torch::full({n}, int64_t(a), torch::kLong), torch::full({n}, float(g)));
  return (out - z).to(torch::kDouble);
}

}  // namespace

TEST(LinearBaselines, OrthogonalLeavesTheOverlappingAttributeUnchangedLinearDoesNot) {
  auto ctx = overlap_context();
  const double s = ctx.linear_scale, g = 0.7;
  torch::manual_seed(11);
  auto z = torch::randn({5, 12});
  auto E = ctx.embeddings.to(torch::kDouble);
  auto lin = model_of(ctx, "linear");
  auto orth = model_of(ctx, "linear_orthogonal");
  EXPECT_FALSE(editor_transform_learns("linear_orthogonal"));
  EXPECT_FALSE(editor_transform_learns("linear_masked"));
  EXPECT_TRUE(editor_transform_learns("region_mlp"));
  for (int a = 0; a < 2; ++a) {
    const int b = 1 - a;
    auto d_lin = edit_of(lin, ctx, z, a, g), d_orth = edit_of(orth, ctx, z, a, g);
    auto along = [&](const torch::Tensor& d, int c) { return torch::mv(d, E[c]); };
    // The linear edit of a moves <z, e_b> by g s cos(e_a, e_b) = g s / 2 on every row; the orthogonal one by 0.
    EXPECT_NEAR(along(d_lin, b).min().item<double>(), g * s * 0.5, 1e-5);
    EXPECT_NEAR(along(d_lin, b).max().item<double>(), g * s * 0.5, 1e-5);
    EXPECT_LT(along(d_orth, b).abs().max().item<double>(), 1e-5);
    EXPECT_LT(along(d_orth, 2).abs().max().item<double>(), 1e-5);
    // Both move <z, e_a> by the same step g s.
    EXPECT_NEAR(along(d_orth, a).min().item<double>(), g * s, 1e-5);
    EXPECT_NEAR(along(d_orth, a).max().item<double>(), g * s, 1e-5);
    EXPECT_NEAR(along(d_lin, a).max().item<double>(), g * s, 1e-5);
    // By hand: e_a's part orthogonal to e_b (e2 is orthogonal to both) over its squared norm 1 - 0.25.
    auto expect = g * s * (E[a] - 0.5 * E[b]) / 0.75;
    EXPECT_LT((d_orth[0] - expect).abs().max().item<double>(), 1e-5) << a;
  }
  // e2 is orthogonal to the others: its orthogonal edit is its linear edit.
  EXPECT_LT((edit_of(orth, ctx, z, 2, -1.3) - edit_of(lin, ctx, z, 2, -1.3)).abs().max().item<double>(), 1e-5);
}

TEST(LinearBaselines, MaskedIsZeroOutsideTheTargetRegionsAndLinearInsideUpToTheStepScale) {
  auto ctx = overlap_context();
  const double s = ctx.linear_scale, g = -0.9;
  torch::manual_seed(12);
  auto z = torch::randn({4, 12});
  auto lin = model_of(ctx, "linear");
  auto masked = model_of(ctx, "linear_masked");
  // The map has no per-attribute targets, so a0's are its expert's (0): region 0 (dims 0-3) and the shared region 2
  // (dims 8-11); dims 4-7 are outside.
  auto mask = linear_masked_mask(masked->spec());
  auto expect_mask = torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1}).to(torch::kFloat);
  EXPECT_TRUE(torch::equal(mask[0], expect_mask));
  auto d_lin = edit_of(lin, ctx, z, 0, g), d_mask = edit_of(masked, ctx, z, 0, g);
  EXPECT_EQ(d_mask.slice(1, 4, 8).abs().max().item<double>(), 0.0);  // exactly zero outside
  // Inside: the linear edit times 1 / |m e0|^2 = 4.5 / 4 (so that <d, e0> = g s, as the linear edit's).
  auto inside = torch::tensor({0, 1, 2, 3, 8, 9, 10, 11});
  auto ratio = d_mask.index_select(1, torch::tensor({0, 1, 2, 3})) / d_lin.index_select(1, torch::tensor({0, 1, 2, 3}));
  EXPECT_NEAR(ratio.min().item<double>(), 4.5 / 4.0, 1e-5);
  EXPECT_NEAR(ratio.max().item<double>(), 4.5 / 4.0, 1e-5);
  EXPECT_LT((d_mask.index_select(1, inside) - d_lin.index_select(1, inside) * (4.5 / 4.0)).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(torch::mv(d_mask, ctx.embeddings[0].to(torch::kDouble)).max().item<double>(), g * s, 1e-5);
  // a1 routes to expert 1 (regions 1, 2): e1's energy in region 0 (0.25 * 4/4.5) is cut, dims 4-7 kept.
  auto d1 = edit_of(masked, ctx, z, 1, 1.0);
  EXPECT_EQ(d1.slice(1, 0, 4).abs().max().item<double>(), 0.0);
  EXPECT_NEAR(torch::mv(d1, ctx.embeddings[1].to(torch::kDouble)).max().item<double>(), s, 1e-5);
  // a2 lies entirely in the shared region, a target of every expert: its masked edit is its linear edit.
  EXPECT_LT((edit_of(masked, ctx, z, 2, 1.0) - edit_of(lin, ctx, z, 2, 1.0)).abs().max().item<double>(), 1e-5);
}

TEST(LinearBaselines, TargetsAreTheAttributesOwnMeasuredTargetsWhenTheMapHasThem) {
  auto ctx = overlap_context();
  // Per-attribute target regions [A, R] (region_map.h): a0 -> {0}, a1 -> {0, 1}, a2 -> {2}. They win over the
  // experts' targets.
  ctx.regions.attribute_targets = {1, 0, 0, 1, 1, 0, 0, 0, 1};
  auto mask = linear_masked_mask(model_of(ctx, "linear_masked")->spec());
  EXPECT_TRUE(torch::equal(mask[0], torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(mask[1], torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(mask[2], torch::tensor({0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}).to(torch::kFloat)));
}

TEST(LinearBaselines, EnergyRuleKeepsTheFewestRegionsHoldingTheShare) {
  auto ctx = overlap_context();
  // e0: region 0 holds 4/4.5 = 0.889 of the energy: enough for 0.8, not for 0.95 (then region 1 joins).
  auto m80 = linear_masked_mask(model_of(ctx, "linear_masked", "energy", 0.8)->spec());
  auto m95 = linear_masked_mask(model_of(ctx, "linear_masked", "energy", 0.95)->spec());
  EXPECT_TRUE(torch::equal(m80[0], torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(m95[0], torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}).to(torch::kFloat)));
  // e1: region 1 holds 0.75 + 0.25 * 0.5/4.5 = 0.778 < 0.8, so region 0 (0.222) joins at 0.8.
  EXPECT_TRUE(torch::equal(m80[1], torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(m80[2], torch::tensor({0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}).to(torch::kFloat)));
  // Options: the keys parse, and a bad rule is a usage error.
  ConfigSchema schema;
  editor_add_config(schema);
  Config c(schema);
  c.set("editor.transform", "linear_masked", "--set");
  c.set("editor.mask_regions", "energy", "--set");
  c.set("editor.mask_energy_share", "0.9", "--set");
  auto o = editor_options_from_config(c);
  EXPECT_EQ(o.transform, "linear_masked");
  EXPECT_EQ(o.mask_regions, "energy");
  EXPECT_DOUBLE_EQ(o.mask_energy_share, 0.9);
  Config bad(schema);
  EXPECT_THROW(
      {
        bad.set("editor.mask_regions", "all", "--set");
        editor_options_from_config(bad);
      },
      UsageError);
}

TEST(LinearBaselines, DirectionsAreSavedWithTheEditorAndAnUnknownEmbeddingIsRefused) {
  auto ctx = overlap_context();
  test::TempDir dir("linear_baselines");
  for (const char* transform : {"linear_masked", "linear_orthogonal"}) {
    // The energy rule at 0.95 differs from the loader's default spec (targets): the saved directions must win.
    auto model = model_of(ctx, transform, "energy", 0.95);
    editor_save(dir / transform, model, ctx, {}, "[editor]\n");
    EditorBundle b = editor_load(dir / transform);
    EXPECT_EQ(b.model->spec().transform, transform);
    EXPECT_TRUE(torch::equal(b.model->linear_directions, model->linear_directions)) << transform;
    torch::manual_seed(13);
    auto z = torch::randn({3, 12});
    EXPECT_TRUE(torch::allclose(edit_of(b.model, b.ctx, z, 0, 0.5), edit_of(model, ctx, z, 0, 0.5))) << transform;
    auto route = torch::tensor({1.0f, 0.0f}).view({1, 2});
    EXPECT_THROW(model->delta(z.slice(0, 0, 1), torch::ones({1, 12}) / std::sqrt(12.0), route), std::logic_error);
  }
}
