// Editor building blocks in one process: K-means, routing, region blocks, the group-sparse optimiser and its
// over-editing criterion, pruning export, the training switches, and editor files.
#include <gtest/gtest.h>

#include <cmath>

#include "common/test_util.h"
#include "core/config.h"
#include "core/errors.h"
#include "core/rng.h"
#include "editor/edit_batch.h"
#include "editor/edit_losses.h"
#include "editor/editor_apply.h"
#include "editor/editor_io.h"
#include "editor/group_sparsifier.h"
#include "editor/kmeans.h"
#include "store/h5_util.h"
#include "store/latent_store.h"

using namespace s3e;

namespace {

// Points around 3 well-separated unit directions in 8-D.
std::vector<float> clustered_points(int per_cluster, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> p;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < per_cluster; ++i)
      for (int d = 0; d < 8; ++d) p.push_back(float((d == c * 2 ? 5.0 : 0.0) + 0.3 * rng.normal()));
  return p;
}

// A small context by hand: De = 12 dims in 3 regions of 4 (regions 0, 1 = clusters, 2 = shared), 4 attributes.
EditorContext small_context(int k = 2) {
  EditorContext ctx;
  ctx.latent_shape = {12};
  ctx.edit_layers = {0};
  ctx.edit_index = torch::arange(12, torch::kLong);
  ctx.attribute_names = {"a", "b", "c", "d"};
  ctx.train_attributes = {0, 1, 2};
  ctx.heldout_attributes = {3};
  ctx.embeddings = torch::zeros({4, 12});
  ctx.embeddings[0].slice(0, 0, 4).fill_(0.5);
  ctx.embeddings[1].slice(0, 1, 5).fill_(0.5);
  ctx.embeddings[2].slice(0, 4, 8).fill_(0.5);
  ctx.embeddings[3].slice(0, 5, 9).fill_(0.5);
  ctx.clusters.k = k;
  ctx.clusters.dim = 12;
  auto f = cluster_feature(ctx.embeddings, "energy");
  ctx.clusters.centroids.assign(f[0].data_ptr<float>(), f[0].data_ptr<float>() + 12);
  ctx.clusters.centroids.insert(ctx.clusters.centroids.end(), f[2].data_ptr<float>(), f[2].data_ptr<float>() + 12);
  ctx.routing = torch::stack({routing_weights(ctx.clusters, f[0], "hard", 0.1), routing_weights(ctx.clusters, f[1], "hard", 0.1),
                              routing_weights(ctx.clusters, f[2], "hard", 0.1), routing_weights(ctx.clusters, f[3], "hard", 0.1)});
  ctx.expert_of_attribute = {0, 0, 1, 1};
  ctx.regions.num_regions = 3;
  ctx.regions.region_of_dim = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
  ctx.label_correlation = torch::eye(4);
  ctx.identity_basis = std::get<0>(torch::linalg_qr(ctx.embeddings.t())).t().contiguous();
  ctx.linear_scale = 1.0;
  return ctx;
}

// The tests of region blocks, sparsity and pruning that predate refine mode use the scratch expert (the whole edit
// is the expert's, so its blocks are visible in the output); refine variants are their own tests below.
EditorModel small_model(const EditorContext& ctx, int64_t hidden_total = 24, const std::string& mode = "scratch") {
  EditorOptions o;
  o.transform = "region_mlp";
  o.expert_mode = mode;
  o.hidden_total = hidden_total;
  torch::manual_seed(3);
  return EditorModel(editor_spec_make(o, ctx));
}

// A trained refine expert is not zero: random output layers stand in for training.
void randomise_output_layers(EditorModel& model, double scale = 0.5) {
  torch::NoGradGuard g;
  for (auto& w : model->w2) w.copy_(torch::randn(w.sizes()) * scale);
}

ClassifierBundle small_classifier() {
  torch::manual_seed(5);
  ClassifierBundle c;
  c.net = LatentClassifier(12, 4, 16, 8);
  c.mean = torch::zeros({12});
  c.std = torch::ones({12});
  c.attribute_names = {"a", "b", "c", "d"};
  return c;
}

}  // namespace

TEST(KMeans, DeterministicForASeedAndFindsTheClusters) {
  auto p = clustered_points(10, 1);
  auto a = kmeans_cosine(p, 30, 8, 3, 42), b = kmeans_cosine(p, 30, 8, 3, 42);
  EXPECT_EQ(a.assignment, b.assignment);
  EXPECT_EQ(a.centroids, b.centroids);
  for (int c = 0; c < 3; ++c)
    for (int i = 1; i < 10; ++i) EXPECT_EQ(a.assignment[c * 10 + i], a.assignment[c * 10]) << "cluster " << c;
  EXPECT_NE(a.assignment[0], a.assignment[10]);
  EXPECT_NE(a.assignment[10], a.assignment[20]);
}

TEST(Routing, UnseenAttributeGoesToTheNearestCentroidAndSoftRoutingMixes) {
  auto ctx = small_context();
  // Attribute 3 (held out) edits dims 5-8: mostly region 1, the centroid of attribute 2.
  EXPECT_EQ(ctx.routing[3].argmax().item<int64_t>(), 1);
  EXPECT_EQ(ctx.routing[3].sum().item<float>(), 1.0f);
  auto f = cluster_feature(ctx.embeddings, "energy");
  auto soft = routing_weights(ctx.clusters, f[3], "soft", 0.1);
  EXPECT_NEAR(soft.sum().item<float>(), 1.0f, 1e-6);
  EXPECT_GT(soft[1].item<float>(), soft[0].item<float>());
  EXPECT_GT(soft[0].item<float>(), 0.0f);  // soft routing gives the other expert a share
  int nearest = kmeans_nearest(ctx.clusters, f[3].data_ptr<float>());
  EXPECT_EQ(nearest, 1);
}

TEST(EditorModel, RegionBlocksWriteOnlyTheirRegion) {
  auto ctx = small_context();
  ctx.linear_scale = 1.3;
  // Both modes: in refine mode the experts' part (delta - s e) obeys the blocks; the linear part is the
  // embedding's own direction.
  for (const std::string mode : {"scratch", "refine"}) {
    auto model = small_model(ctx, 24, mode);
    if (mode == "refine") randomise_output_layers(model);
    const int64_t H = model->hidden_per_expert();
    ASSERT_EQ(H % 3, 0);
    // Every neuron of block r may write every dim of region r (4 dims per region here), and nothing else.
    EXPECT_EQ(model->w2_mask.sum().item<float>(), 4.0f * H);
    for (int r = 0; r < 3; ++r) {
      // Keep only block r of expert 0 alive.
      model->group_mask.fill_(0);
      model->group_mask[0].slice(0, r * H / 3, (r + 1) * H / 3).fill_(1);
      auto z = torch::randn({5, 12}), e = ctx.embeddings.index_select(0, torch::zeros({5}, torch::kLong));
      auto route = torch::zeros({5, 2});
      route.select(1, 0).fill_(1);
      auto g = torch::full({5}, 0.8f);
      auto d = model->delta(z, e, route, g).detach();
      if (mode == "refine") d = d - e * ctx.linear_scale;
      for (int64_t dim = 0; dim < 12; ++dim) {
        bool in_region = ctx.regions.region_of_dim[dim] == r;
        if (!in_region) {
          EXPECT_EQ(d.select(1, dim).abs().sum().item<float>(), 0.0f) << mode << ": block " << r << " wrote dim " << dim;
        }
      }
      EXPECT_GT(d.abs().sum().item<float>(), 0.0f) << mode;
    }
  }
}

TEST(GroupSparsifier, HitsTheTargetRateExactlyAndKeepsGroupsAtZero) {
  auto ctx = small_context();
  auto model = small_model(ctx, 60);  // 2 experts x 30 neurons = 60 groups
  EditorOptions o;
  o.sparsity_rate = 0.1;
  o.sparsity_start = 2;
  o.sparsity_periods = 3;
  o.sparsity_period_steps = 4;
  GroupSparsifier s(model, o);
  ASSERT_EQ(s.target_groups(), 6);
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
  auto z = torch::randn({16, 12});
  auto attr = torch::randint(0, 3, {16}, torch::kLong);
  auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
  for (int64_t step = 0; step < 40; ++step) {
    adam.zero_grad();
    model->delta(z, e, route).pow(2).sum().backward();
    s.before_step(step, z, e, route);
    adam.step();  // Adam's momentum keeps pushing every weight
    s.after_step(step);
    int64_t zero = (model->group_mask == 0).sum().item<int64_t>();
    if (step >= 2 + 3 * 4 - 1) {
      EXPECT_EQ(zero, 6) << "step " << step;
    }
  }
  // Masked groups hold exactly zero in all three places.
  for (int k = 0; k < 2; ++k)
    for (int64_t h = 0; h < 30; ++h)
      if (model->group_mask[k][h].item<float>() == 0) {
        EXPECT_EQ(model->w1[k][h].abs().sum().item<float>(), 0.0f);
        EXPECT_EQ(model->b1[k][h].item<float>(), 0.0f);
        EXPECT_EQ(model->w2[k].select(1, h).abs().sum().item<float>(), 0.0f);
      }
  ASSERT_FALSE(s.history().empty());
  EXPECT_EQ(s.history().back().groups_zero, 6);
}

TEST(GroupSparsifier, OverEditingCriterionChangesWhichGroupsArePruned) {
  auto ctx = small_context();
  auto model = small_model(ctx, 60);
  // Make expert 0's neurons of blocks 1 and 2 (regions 1 and 2: attribute 0's embedding has no energy there, so
  // they are outside its target regions) large: magnitude alone keeps them, the over-editing criterion removes
  // them. (Before over-editing was measured, the shared region 2 counted as every expert's target by block index.)
  {
    torch::NoGradGuard g;
    model->w1[0].slice(0, 10, 30).mul_(3);
    model->w2[0].slice(1, 10, 30).mul_(3);
    model->b1[0].slice(0, 10, 30).fill_(3.0);  // active on every row: all of them write outside the target
  }
  auto z = torch::randn({32, 12});
  auto attr = torch::zeros({32}, torch::kLong);  // all routed to expert 0
  auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
  auto pick = [&](bool over) {
    EditorOptions o;
    o.over_edit_criterion = over;
    o.crit_taylor1 = 0;
    o.crit_over_edit = 5;
    o.sparsity_rate = 0.1;
    o.sparsity_start = 0;
    o.sparsity_periods = 1;
    GroupSparsifier s(model, o);
    s.before_step(0, z, e, route);
    return s.selected().clone();
  };
  auto by_magnitude = pick(false), with_over_edit = pick(true);
  EXPECT_EQ(by_magnitude.sum().item<int64_t>(), 6);
  EXPECT_EQ(with_over_edit.sum().item<int64_t>(), 6);
  EXPECT_FALSE(torch::equal(by_magnitude, with_over_edit));
  // With the criterion, the picks are the out-of-target neurons of expert 0 (blocks 1 and 2).
  EXPECT_EQ(with_over_edit[0].slice(0, 10, 30).sum().item<int64_t>(), 6);
  EXPECT_EQ(by_magnitude[0].slice(0, 10, 30).sum().item<int64_t>(), 0);
}

TEST(EditorExport, PrunedEditorHasFewerParametersAndTheSameOutputs) {
  auto ctx = small_context();
  ctx.linear_scale = 1.3;
  for (const std::string mode : {"scratch", "refine"}) {
    auto model = small_model(ctx, 60, mode);
    if (mode == "refine") randomise_output_layers(model);
    {
      torch::NoGradGuard g;
      for (int64_t h : {1, 7, 12, 29}) {
        model->group_mask[0][h] = 0;
        model->w1[0][h].zero_();
        model->b1[0][h].zero_();
        model->w2[0].select(1, h).zero_();
      }
    }
    PrunedEditor pruned = editor_prune(model);
    EXPECT_EQ(pruned.refine, mode == "refine");
    EXPECT_EQ(pruned.parameter_count(), editor_parameter_count(model, true)) << mode;
    EXPECT_LT(pruned.parameter_count(), editor_parameter_count(model, false)) << mode;
    auto z = torch::randn({20, 12});
    auto attr = torch::randint(0, 4, {20}, torch::kLong);
    auto g = torch::rand({20}) * 2 - 1;
    auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
    auto full = model->delta(z, e, route, g).detach();
    EXPECT_TRUE(torch::allclose(pruned.delta(z, e, route, g), full, 1e-6, 1e-6)) << mode;
    if (mode == "refine") {
      // The refining expert's part is not zero here, so the comparison covers the experts, not only s e.
      EXPECT_GT((full - e * ctx.linear_scale).abs().max().item<float>(), 1e-2);
      EXPECT_THROW(pruned.delta(z, e, route), std::logic_error);  // refine needs g
    }
  }
}

TEST(TrainingSwitches, EachSwitchChangesWhatIsComputed) {
  auto ctx = small_context();
  auto classifier = small_classifier();
  auto z = torch::randn({64, 12});
  EditorOptions off;
  off.self_training = false;
  EditorOptions on = off;
  on.self_training = true;
  on.self_share = 0.5;
  on.input_edit_prob = 1.0;
  auto b_off = edit_batch_make(ctx, classifier, off, z, 7, 0);
  auto b_on = edit_batch_make(ctx, classifier, on, z, 7, 0);
  EXPECT_EQ(b_off.self_mask.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(b_off.z_in, z));
  int64_t self_rows = b_on.self_mask.sum().item<int64_t>();
  EXPECT_GT(self_rows, 10);
  EXPECT_LT(self_rows, 54);
  auto g_self = b_on.g.masked_select(b_on.self_mask).abs();
  EXPECT_GE(g_self.min().item<float>(), on.g_min - 1e-6);
  EXPECT_LE(g_self.max().item<float>(), on.g_max + 1e-6);
  EXPECT_FALSE(torch::equal(b_on.z_in, z));  // inputs were pseudo-edited
  // Same global positions, same choices (the rank split does not matter).
  auto half = edit_batch_make(ctx, classifier, on, z.slice(0, 32), 7, 32);
  EXPECT_TRUE(torch::equal(half.attribute, b_on.attribute.slice(0, 32)));
  EXPECT_TRUE(torch::equal(half.g, b_on.g.slice(0, 32)));

  auto model = small_model(ctx);
  {
    torch::NoGradGuard g;
    for (auto& w : model->w2) w.mul_(50);  // an editor that edits visibly
  }
  auto losses = [&](double identity, double cycle) {
    EditorOptions o = on;
    o.w_identity = identity;
    o.w_cycle = cycle;
    return edit_losses(model, ctx, classifier, o, b_on, 64, b_on.target.sum().item<double>());
  };
  auto base = losses(0, 0), with_id = losses(1, 0), with_cycle = losses(0, 1);
  EXPECT_EQ(base.identity.item<float>(), 0.0f);
  EXPECT_GT(with_id.identity.item<float>(), 0.0f);
  EXPECT_GT(with_cycle.cycle.item<float>(), 0.0f);
  EXPECT_NE(with_id.total.item<float>(), base.total.item<float>());
  EXPECT_NE(with_cycle.total.item<float>(), base.total.item<float>());
  // Soft routing changes the edit of an attribute between clusters.
  auto f = cluster_feature(ctx.embeddings, "energy");
  auto hard = ctx.routing.index_select(0, b_on.attribute);
  std::vector<torch::Tensor> soft_rows;
  for (int a = 0; a < 4; ++a) soft_rows.push_back(routing_weights(ctx.clusters, f[a], "soft", 0.5));
  auto soft = torch::stack(soft_rows).index_select(0, b_on.attribute);
  auto ze = b_on.z_in, e = ctx.embeddings.index_select(0, b_on.attribute);
  EXPECT_FALSE(torch::allclose(model->delta(ze, e, hard), model->delta(ze, e, soft)));
}

TEST(EditorFiles, SaveLoadRoundTripAndMasksInHdf5MatchTheWeights) {
  auto ctx = small_context();
  auto model = small_model(ctx, 60);
  {
    torch::NoGradGuard g;
    for (int64_t h : {0, 5, 33}) {
      int k = h / 30;
      h %= 30;
      model->group_mask[k][h] = 0;
      model->w1[k][h].zero_();
      model->b1[k][h].zero_();
      model->w2[k].select(1, h).zero_();
    }
  }
  test::TempDir dir("editor_io");
  editor_save(dir / "ed", model, ctx, {{10, 3, 0}}, "[editor]\n");
  EditorBundle b = editor_load(dir / "ed");
  EXPECT_EQ(b.ctx.expert_of_attribute, ctx.expert_of_attribute);
  EXPECT_EQ(b.ctx.regions.region_of_dim, ctx.regions.region_of_dim);
  ASSERT_EQ(b.history.size(), 1u);
  auto p1 = model->parameters(), p2 = b.model->parameters();
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_TRUE(torch::equal(p1[i], p2[i]));
  // The HDF5 mask, read as plain HDF5, marks exactly the all-zero groups.
  LatentStore f(dir / "ed/editor.h5", "s3editor.editor");
  auto mask = f.read_array_f32("sparsity/group_mask");
  for (int k = 0; k < 2; ++k)
    for (int h = 0; h < 30; ++h) {
      bool zero = model->w1[k][h].abs().sum().item<float>() == 0 && model->w2[k].select(1, h).abs().sum().item<float>() == 0;
      EXPECT_EQ(mask[k * 30 + h] == 0.0f, zero) << k << "," << h;
    }
  EXPECT_THROW(editor_load(dir / "missing"), DataError);
}

// ---- Refine mode (the paper's x^ = T(Denorm(Norm(x) + g a))): the experts refine the linear edit. ----

TEST(RefineEditor, AtInitItIsExactlyTheLinearEdit) {
  auto ctx = small_context();
  ctx.linear_scale = 1.7;
  auto refine = small_model(ctx, 24, "refine");
  ASSERT_TRUE(refine->refines());
  EXPECT_DOUBLE_EQ(refine->spec().embedding_scale, std::sqrt(12.0));
  for (auto& w : refine->w2) EXPECT_EQ(w.abs().max().item<float>(), 0.0f);
  EditorOptions lo;
  lo.transform = "linear";
  EditorModel linear(editor_spec_make(lo, ctx));
  torch::manual_seed(9);
  auto z = torch::randn({32, 12});
  auto attr = torch::arange(32, torch::kLong) % 4;  // attribute 3 is held out
  auto g = torch::randn({32});
  auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
  torch::NoGradGuard no_grad;
  auto edited = refine->forward(z, e, g, route), lin = linear->forward(z, e, g, route);
  EXPECT_TRUE(torch::equal(edited, lin));
  EXPECT_GT((lin - z).abs().max().item<float>(), 0.1f);  // the linear edit does edit
  // Whole latents, through the path that edit and eval-latent use.
  EXPECT_TRUE(torch::equal(editor_apply(refine, ctx, z, attr, g), editor_apply(linear, ctx, z, attr, g)));
  // The expert sees z_lin = the linear edit, the embedding at the latent's size (|c e| = sqrt(De)) and g.
  auto x = refine->expert_input(z, e, g);
  ASSERT_EQ(x.size(1), 25);
  EXPECT_TRUE(torch::allclose(x.slice(1, 0, 12), lin, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(x.slice(1, 12, 24).norm(2, 1), torch::full({32}, std::sqrt(12.0f)), 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(x.select(1, 24), g));
  // Not vacuous: with output weights the experts change the edit, and their part is scaled by g (g = 0: z' = z).
  randomise_output_layers(refine);
  EXPECT_FALSE(torch::allclose(refine->forward(z, e, g, route), lin, 1e-3, 1e-3));
  EXPECT_TRUE(torch::equal(refine->forward(z, e, torch::zeros({32}), route), z));
}

TEST(RefineEditor, ZeroOutputLayerStillLearnsThroughTheTrainingLosses) {
  // W2 = 0 must not be a fixed point of training: the first step moves W2, the second reaches W1.
  auto ctx = small_context();
  auto classifier = small_classifier();
  auto model = small_model(ctx, 24, "refine");
  EditorOptions o;
  o.self_training = true;
  auto b = edit_batch_make(ctx, classifier, o, torch::randn({32, 12}), 7, 0);
  auto w1_start = model->w1[0].detach().clone();
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 2; ++step) {
    adam.zero_grad();
    edit_losses(model, ctx, classifier, o, b, 32, b.target.sum().item<double>()).total.backward();
    adam.step();
    if (step == 0) EXPECT_TRUE(torch::equal(model->w1[0], w1_start));  // no gradient through a zero W2 yet
  }
  EXPECT_GT(model->w2[0].abs().max().item<float>(), 0.0f);
  EXPECT_FALSE(torch::equal(model->w1[0], w1_start));
}

namespace {

// De = 16, one expert. Training attributes 0-3 edit dims 0-7; held-out attribute 4 edits dims 8-15: its direction is
// orthogonal to every training attribute's and no training edit touches its dims (the synthetic world's unseen
// attributes are like this: independent directions).
EditorContext orthogonal_context() {
  EditorContext ctx;
  ctx.latent_shape = {16};
  ctx.edit_layers = {0};
  ctx.edit_index = torch::arange(16, torch::kLong);
  ctx.attribute_names = {"a", "b", "c", "d", "unseen"};
  ctx.train_attributes = {0, 1, 2, 3};
  ctx.heldout_attributes = {4};
  ctx.embeddings = torch::zeros({5, 16});
  for (int a = 0; a < 4; ++a) ctx.embeddings[a].slice(0, 2 * a, 2 * a + 2).fill_(1 / std::sqrt(2.0f));
  ctx.embeddings[4].slice(0, 8, 16).fill_(1 / std::sqrt(8.0f));
  ctx.clusters.k = 1;
  ctx.clusters.dim = 16;
  ctx.clusters.centroids.assign(16, 0.25f);
  ctx.clusters.assignment = {0, 0, 0, 0};
  ctx.routing = torch::ones({5, 1});
  ctx.expert_of_attribute = {0, 0, 0, 0, 0};
  ctx.regions.num_regions = 2;
  ctx.regions.region_of_dim.assign(16, 1);
  for (int d = 0; d < 8; ++d) ctx.regions.region_of_dim[d] = 0;
  ctx.label_correlation = torch::eye(5);
  ctx.identity_basis = std::get<0>(torch::linalg_qr(ctx.embeddings.t())).t().contiguous();
  ctx.linear_scale = 1.5;
  return ctx;
}

// Trains on the training attributes only, towards a state-dependent edit the linear edit gets wrong:
// z + g s e_a (1 + 0.5 tanh(<z, e_a>)). Returns the model.
EditorModel train_on_seen(const EditorContext& ctx, const std::string& mode) {
  auto model = small_model(ctx, 48, mode);
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-2));
  torch::manual_seed(21);
  for (int step = 0; step < 400; ++step) {
    auto z = torch::randn({64, 16});
    auto attr = torch::randint(0, 4, {64}, torch::kLong);
    auto g = torch::rand({64}) * 2 - 1;
    auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
    auto target = z + (g * ctx.linear_scale * (1 + 0.5 * torch::tanh((z * e).sum(1)))).unsqueeze(1) * e;
    adam.zero_grad();
    torch::mse_loss(model->forward(z, e, g, route), target).backward();
    adam.step();
  }
  return model;
}

// Mean projection of (z' - z) / g on the attribute's own unit embedding, in units of the linear step s.
double own_direction_step(EditorModel& model, const EditorContext& ctx, int attribute, float g) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(33);
  auto z = torch::randn({256, 16});
  auto attr = torch::full({256}, int64_t(attribute), torch::kLong);
  auto e = ctx.embeddings.index_select(0, attr);
  auto dz = model->forward(z, e, torch::full({256}, g), ctx.routing.index_select(0, attr)) - z;
  return (dz * e).sum(1).mean().item<double>() / (g * ctx.linear_scale);
}

}  // namespace

TEST(RefineEditor, UnseenAttributeIsEditedAlongItsOwnDirectionScratchIsNot) {
  auto ctx = orthogonal_context();
  auto refine = train_on_seen(ctx, "refine"), scratch = train_on_seen(ctx, "scratch");
  // Both learned the seen attributes (their edit along e_a is about s, as the target asks on average).
  for (int a = 0; a < 4; ++a) {
    EXPECT_GT(own_direction_step(refine, ctx, a, 1.0f), 0.8) << a;
    EXPECT_GT(own_direction_step(scratch, ctx, a, 1.0f), 0.8) << a;
  }
  // Refine learned the state dependence that the linear edit lacks.
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(44);
    auto z = torch::randn({256, 16});
    auto attr = torch::randint(0, 4, {256}, torch::kLong);
    auto g = torch::rand({256}) * 2 - 1;
    auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
    auto target = z + (g * ctx.linear_scale * (1 + 0.5 * torch::tanh((z * e).sum(1)))).unsqueeze(1) * e;
    auto lin = z + (g * ctx.linear_scale).unsqueeze(1) * e;
    double err_refine = torch::mse_loss(refine->forward(z, e, g, route), target).item<double>();
    double err_linear = torch::mse_loss(lin, target).item<double>();
    EXPECT_LT(err_refine, 0.5 * err_linear) << err_refine << " vs linear " << err_linear;
  }
  // The held-out attribute: refine keeps (about) the linear step along its own direction, for either sign of g;
  // the scratch expert, trained never to write dims 8-15, has nothing to offer there.
  const double refine_plus = own_direction_step(refine, ctx, 4, 1.0f), refine_minus = own_direction_step(refine, ctx, 4, -0.5f);
  const double scratch_plus = own_direction_step(scratch, ctx, 4, 1.0f);
  std::cout << "unseen step / s: refine " << refine_plus << " (g = 1), " << refine_minus << " (g = -0.5); scratch "
            << scratch_plus << "\n";
  EXPECT_GT(refine_plus, 0.8);
  EXPECT_GT(refine_minus, 0.8);  // divided by g: the edit points the other way for g < 0
  EXPECT_LT(std::abs(scratch_plus), 0.2);
}

TEST(RefineEditor, SparsifierScoresTheExpertsOnTheirRefineInputs) {
  auto ctx = small_context();
  auto model = small_model(ctx, 60, "refine");
  randomise_output_layers(model);
  auto z = torch::randn({32, 12});
  auto attr = torch::zeros({32}, torch::kLong);
  auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
  EditorOptions o;
  o.crit_taylor1 = 0;
  o.sparsity_rate = 0.1;
  o.sparsity_start = 0;
  o.sparsity_periods = 1;
  GroupSparsifier s(model, o);
  EXPECT_THROW(s.before_step(0, z, e, route), std::logic_error);  // the experts' input needs g
  s.before_step(0, z, e, route, torch::full({32}, 0.7f));
  EXPECT_EQ(s.selected().sum().item<int64_t>(), 6);
  // The over-editing energy is measured on z + g s e and g: another strength gives other energies. (The score
  // now uses the off-target share of that energy, which for rows of one attribute is 0 or 1 per block whatever g.)
  EXPECT_FALSE(torch::allclose(s.over_edit_energy(z, e, route, torch::full({32}, 0.7f)),
                               s.over_edit_energy(z, e, route, torch::full({32}, -0.7f))));
}

TEST(RefineEditor, FilesCarryTheModeAndEditorsWithoutItLoadAsScratch) {
  auto ctx = small_context();
  test::TempDir dir("editor_mode_io");
  auto refine = small_model(ctx, 24, "refine");
  randomise_output_layers(refine);
  editor_save(dir / "refine", refine, ctx, {}, "[editor]\n");
  auto scratch = small_model(ctx, 24, "scratch");
  editor_save(dir / "scratch", scratch, ctx, {}, "[editor]\n");
  EditorBundle r = editor_load(dir / "refine"), s = editor_load(dir / "scratch");
  EXPECT_TRUE(r.model->refines());
  EXPECT_EQ(s.model->spec().expert_mode, "scratch");
  EXPECT_DOUBLE_EQ(r.model->spec().embedding_scale, std::sqrt(12.0));
  auto z = torch::randn({10, 12});
  auto attr = torch::arange(10, torch::kLong) % 4;
  auto g = torch::rand({10}) * 2 - 1;
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(editor_apply(r.model, r.ctx, z, attr, g), editor_apply(refine, ctx, z, attr, g)));
  // An editor.h5 written before the key existed (no expert_mode, no embedding_scale) is a scratch editor.
  auto drop_mode = [](const std::filesystem::path& h5) {
    H5Id f(H5Fopen(h5.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(f.get(), 0);
    for (const char* name : {"expert_mode", "embedding_scale"}) {
      ASSERT_GT(H5Aexists(f.get(), name), 0) << name;
      H5Adelete(f.get(), name);
    }
  };
  drop_mode(dir / "scratch/editor.h5");
  EditorBundle old = editor_load(dir / "scratch");
  EXPECT_EQ(old.model->spec().expert_mode, "scratch");
  EXPECT_TRUE(torch::equal(editor_apply(old.model, old.ctx, z, attr, g), editor_apply(scratch, ctx, z, attr, g)));
  // The key is what makes a refine editor: without it, its weights (W1 also reads g) do not fit a scratch model.
  drop_mode(dir / "refine/editor.h5");
  try {
    editor_load(dir / "refine");
    ADD_FAILURE() << "a refine editor without its mode loaded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("expert0_w1 has shape [12, 25]"), std::string::npos) << e.what();
  }
}

TEST(EditorOptions, ExpertModeLinearScaleAndPerTransformWeightDecay) {
  ConfigSchema schema;
  editor_add_config(schema);
  auto options = [&](const std::vector<std::pair<std::string, std::string>>& set) {
    Config c(schema);
    for (auto& [key, value] : set) c.set(key, value, "--set");
    return editor_options_from_config(c);
  };
  EXPECT_EQ(options({}).expert_mode, "refine");
  EXPECT_EQ(options({{"editor.expert_mode", "scratch"}}).expert_mode, "scratch");
  EXPECT_THROW(options({{"editor.expert_mode", "later"}}), UsageError);
  // Weight decay: Latent Transformer's 5e-4 when lt_linear and the key is not set; a set value always wins.
  EXPECT_EQ(options({}).weight_decay, 0.0);
  EXPECT_EQ(options({{"editor.transform", "lt_linear"}}).weight_decay, 5e-4);
  EXPECT_EQ(options({{"editor.transform", "lt_linear"}, {"train.weight_decay", "0"}}).weight_decay, 0.0);
  EXPECT_EQ(options({{"editor.transform", "lt_linear"}, {"train.weight_decay", "0.01"}}).weight_decay, 0.01);
  EXPECT_EQ(options({{"train.weight_decay", "0.01"}}).weight_decay, 0.01);
  // The linear step: data (as derived), sqrt_dim (DESIGN.md's sqrt(D)), or a number; anything else names the key.
  EXPECT_EQ(options({}).linear_scale, "data");
  EXPECT_DOUBLE_EQ(editor_linear_scale_resolve("data", 2.5, 100), 2.5);
  EXPECT_DOUBLE_EQ(editor_linear_scale_resolve("sqrt_dim", 2.5, 100), 10.0);
  EXPECT_DOUBLE_EQ(editor_linear_scale_resolve("3.25", 2.5, 100), 3.25);
  for (const char* bad : {"big", "-1", "0", "2x"}) {
    try {
      options({{"editor.linear_scale", bad}});
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("editor.linear_scale"), std::string::npos) << e.what();
    }
  }
}

TEST(LatentTransformer, InitIsXavierUniformUnderTheEqualisedLearningRate) {
  // Latent Transformer's Dense_layer: weight Xavier-uniform, bias zero, forward multiplies the weight by
  // lr_mul / sqrt(fan_in). The stored weights follow U(-b, b), b = sqrt(6 / (C + C)).
  EditorSpec spec;
  spec.transform = "lt_linear";
  spec.layer_channels = 64;
  spec.edit_dim = 3 * 64;
  spec.num_experts = 2;
  torch::manual_seed(1);
  EditorModel model(spec);
  const double C = 64, bound = std::sqrt(6.0 / (C + C));
  ASSERT_EQ(model->lt_weight.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    auto w = model->lt_weight[k].detach().to(torch::kDouble);
    EXPECT_LE(w.abs().max().item<double>(), bound);
    EXPECT_GT(w.abs().max().item<double>(), 0.99 * bound);
    EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.02 * bound);
    EXPECT_NEAR(w.var().item<double>(), bound * bound / 3, 0.05 * bound * bound / 3);
    EXPECT_EQ(model->lt_bias[k].abs().max().item<float>(), 0.0f);
  }
  // So the effective map starts with std 1/C and the initial edit per unit strength is about 1/sqrt(C) of the
  // latent (0.125 here); the first build's N(0, 1) stored weights made it as large as the latent (ratio ~1).
  torch::NoGradGuard no_grad;
  auto z = torch::randn({256, 3 * 64});
  auto route = torch::zeros({256, 2});
  route.select(1, 0).fill_(1);
  auto d = model->delta(z, torch::zeros_like(z), route);
  double ratio = d.norm(2, 1).mean().item<double>() / z.norm(2, 1).mean().item<double>();
  EXPECT_NEAR(ratio, 1 / std::sqrt(C), 0.02) << ratio;
}
