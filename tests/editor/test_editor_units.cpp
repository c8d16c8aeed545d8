// Editor building blocks in one process: K-means, routing, region blocks, the group-sparse optimiser and its
// over-editing criterion, pruning export, the training switches, and editor files.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "core/errors.h"
#include "core/rng.h"
#include "editor/edit_batch.h"
#include "editor/edit_losses.h"
#include "editor/editor_apply.h"
#include "editor/editor_io.h"
#include "editor/group_sparsifier.h"
#include "editor/kmeans.h"
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

EditorModel small_model(const EditorContext& ctx, int64_t hidden_total = 24) {
  EditorOptions o;
  o.transform = "region_mlp";
  o.hidden_total = hidden_total;
  torch::manual_seed(3);
  return EditorModel(editor_spec_make(o, ctx));
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
  auto model = small_model(ctx);
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
    auto d = model->delta(z, e, route).detach();
    for (int64_t dim = 0; dim < 12; ++dim) {
      bool in_region = ctx.regions.region_of_dim[dim] == r;
      if (!in_region) {
        EXPECT_EQ(d.select(1, dim).abs().sum().item<float>(), 0.0f) << "block " << r << " wrote dim " << dim;
      }
    }
    EXPECT_GT(d.abs().sum().item<float>(), 0.0f);
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
  // Make expert 0's neurons of block 1 (region 1: not expert 0's target, nor shared) large: magnitude alone keeps
  // them, the over-editing criterion removes them.
  {
    torch::NoGradGuard g;
    model->w1[0].slice(0, 10, 20).mul_(3);
    model->w2[0].slice(1, 10, 20).mul_(3);
    model->b1[0].slice(0, 10, 20).fill_(3.0);  // active on every row: all of them write outside the target
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
  // With the criterion, the picks are the out-of-target neurons of expert 0 (block 1).
  EXPECT_EQ(with_over_edit[0].slice(0, 10, 20).sum().item<int64_t>(), 6);
  EXPECT_EQ(by_magnitude[0].slice(0, 10, 20).sum().item<int64_t>(), 0);
}

TEST(EditorExport, PrunedEditorHasFewerParametersAndTheSameOutputs) {
  auto ctx = small_context();
  auto model = small_model(ctx, 60);
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
  EXPECT_EQ(pruned.parameter_count(), editor_parameter_count(model, true));
  EXPECT_LT(pruned.parameter_count(), editor_parameter_count(model, false));
  auto z = torch::randn({20, 12});
  auto attr = torch::randint(0, 4, {20}, torch::kLong);
  auto e = ctx.embeddings.index_select(0, attr), route = ctx.routing.index_select(0, attr);
  EXPECT_TRUE(torch::allclose(pruned.delta(z, e, route), model->delta(z, e, route).detach(), 1e-6, 1e-6));
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
