// Measured over-editing (group_sparsifier.h, region_map.h): target regions from embedding energy, each group's
// share of edit energy outside its rows' target regions (checked against a brute-force sum), pruning at the
// off-target share removes exactly hand-built off-target groups (and says so in editor.h5), 1 and 2 ranks (a fake
// communicator) measure the same, a resumed window equals an uninterrupted one, and the editor takes the
// backbone's region map when the store has one (R independent of K), else derives one from data.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>

#include "common/test_util.h"
#include "dist/comm_fake.h"
#include "dist/comm_tensor.h"
#include "editor/editor_context.h"
#include "editor/editor_io.h"
#include "editor/group_sparsifier.h"
#include "editor/region_map.h"
#include "store/h5_util.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/store_schema.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

// 12 dims in 3 regions of 4.
RegionMap three_regions() {
  RegionMap map;
  map.num_regions = 3;
  map.region_of_dim = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
  map.source = "by hand";
  return map;
}

// A unit embedding with energy share `w[r]` spread evenly over region r's 4 dims.
torch::Tensor embedding_with_energy(std::vector<double> w) {
  auto e = torch::zeros({12});
  for (int r = 0; r < 3; ++r) e.slice(0, 4 * r, 4 * r + 4).fill_(std::sqrt(w[size_t(r)] / 4));
  return e;
}

EditorModel model_by_hand(int experts, int64_t hidden_total) {
  EditorSpec spec;
  spec.transform = "region_mlp";
  spec.expert_mode = "scratch";
  spec.edit_dim = 12;
  spec.layer_channels = 12;
  spec.num_experts = experts;
  spec.hidden_total = hidden_total;
  spec.regions = three_regions();
  torch::manual_seed(11);
  return EditorModel(spec);
}

// Deterministic values that do not use the global generator (fake ranks are threads).
torch::Tensor values(std::vector<int64_t> shape, double seed) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return torch::sin(torch::arange(n, torch::kFloat) * float(0.37 + seed) + float(seed)).reshape(shape);
}

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TEST(OverEditing, TargetRegionsAreTheFewestHoldingTheEnergyShare) {
  auto map = three_regions();
  auto e = embedding_with_energy({0.5, 0.3, 0.2});
  auto targets = [&](const torch::Tensor& v, double share) { return region_targets_by_energy(to_vector(v), 1, map, share); };
  EXPECT_EQ(targets(e, 0.49), (std::vector<int32_t>{1, 0, 0}));
  EXPECT_EQ(targets(e, 0.51), (std::vector<int32_t>{1, 1, 0}));
  EXPECT_EQ(targets(e, 0.79), (std::vector<int32_t>{1, 1, 0}));
  EXPECT_EQ(targets(e, 0.81), (std::vector<int32_t>{1, 1, 1}));
  // Order is by energy, not by index.
  EXPECT_EQ(targets(embedding_with_energy({0.1, 0.2, 0.7}), 0.8), (std::vector<int32_t>{0, 1, 1}));
  // No energy: nothing to measure against, every region is a target.
  EXPECT_EQ(targets(torch::zeros({12}), 0.8), (std::vector<int32_t>{1, 1, 1}));
  // The map's targets of attributes and experts (expert = union of its training attributes'; -1 = not trained).
  auto all = torch::stack({embedding_with_energy({1, 0, 0}), embedding_with_energy({0, 0.9, 0.1}),
                           embedding_with_energy({0, 0, 1})});
  region_map_set_targets(map, to_vector(all), 3, {0, 0, -1}, 2, 0.8);
  EXPECT_EQ(map.attribute_targets, (std::vector<int32_t>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(map.expert_targets, (std::vector<int32_t>{1, 1, 0, 0, 0, 0}));
  EXPECT_TRUE(map.is_target(0, 1));
  EXPECT_FALSE(map.is_target(0, 2));
}

TEST(OverEditing, GroupWritingOutsideTheTargetsScoresHigherThanOneWritingInside) {
  // One expert, 6 neurons in 3 blocks of 2 (block r writes region r); every neuron active (W1 = 0, b1 = 1).
  auto model = model_by_hand(1, 6);
  {
    torch::NoGradGuard g;
    model->w1[0].zero_();
    model->b1[0].fill_(1.0);
    model->w2[0].copy_(values({12, 6}, 1.0));
  }
  auto e = embedding_with_energy({1, 0, 0}).unsqueeze(0).repeat({8, 1});  // rows edit an attribute of region 0
  auto z = values({8, 12}, 2.0), route = torch::ones({8, 1});
  EditorOptions o;
  o.sparsity_rate = 0.3;
  o.crit_magnitude = 0;
  o.crit_taylor1 = 0;
  GroupSparsifier s(model, o);
  auto share = GroupSparsifier::over_edit_share(s.over_edit_energy(z, e, route));
  // Block 0 writes inside region 0: share 0. Blocks 1 and 2 write only outside: share 1.
  EXPECT_FLOAT_EQ(share[0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(share[0][1].item<float>(), 0.0f);
  for (int h = 2; h < 6; ++h) EXPECT_FLOAT_EQ(share[0][h].item<float>(), 1.0f) << h;
  auto score = s.score_groups(z, e, route);
  EXPECT_GT(score[0][0].item<float>(), score[0][2].item<float>());
  EXPECT_GT(score[0][1].item<float>(), score[0][4].item<float>());
  // A block that writes nothing has no evidence: share 0, not 0/0.
  {
    torch::NoGradGuard g;
    model->w2[0].select(1, 3).zero_();
  }
  EXPECT_EQ(GroupSparsifier::over_edit_share(s.over_edit_energy(z, e, route))[0][3].item<float>(), 0.0f);
}

TEST(OverEditing, EnergyIsTheSumOverRowsOfTheContributionOutsideEachRowsTargets) {
  // Two experts, soft routing, rows of two attributes with different targets ({0} and {1}): the measured energies
  // equal a brute-force sum of |w_ik act_ih W2[d, h]|^2 over the dims outside row i's target regions.
  auto model = model_by_hand(2, 12);
  {
    torch::NoGradGuard g;
    model->w1[0].copy_(values({6, 24}, 3.0));
    model->w1[1].copy_(values({6, 24}, 4.0));
    model->b1[0].copy_(values({6}, 5.0));
    model->b1[1].copy_(values({6}, 6.0));
    model->w2[0].copy_(values({12, 6}, 7.0));
    model->w2[1].copy_(values({12, 6}, 8.0));
  }
  auto ea = embedding_with_energy({0.9, 0.05, 0.05}), eb = embedding_with_energy({0.1, 0.85, 0.05});
  const int B = 10;
  auto is_a = torch::arange(B) % 3 != 0;
  auto e = torch::where(is_a.unsqueeze(1), ea.unsqueeze(0), eb.unsqueeze(0));
  auto z = values({B, 12}, 9.0);
  auto route = torch::softmax(values({B, 2}, 10.0) * 3, 1);
  EditorOptions o;
  GroupSparsifier s(model, o);
  auto energy = s.over_edit_energy(z, e, route);
  auto expected = torch::zeros({2, 2, 6}, torch::kDouble);
  auto x = model->expert_input(z, e, {});
  auto region = three_regions().region_of_dim;
  for (int k = 0; k < 2; ++k) {
    auto act = model->expert_hidden(k, x).to(torch::kDouble);
    auto w2 = (model->w2[k] * model->w2_mask).to(torch::kDouble);
    for (int i = 0; i < B; ++i) {
      const int target = is_a[i].item<bool>() ? 0 : 1;
      const double w = route[i][k].item<double>();
      for (int h = 0; h < 6; ++h)
        for (int d = 0; d < 12; ++d) {
          const double c = w * act[i][h].item<double>() * w2[d][h].item<double>();
          expected[1][k][h] += c * c;
          if (region[size_t(d)] != target) expected[0][k][h] += c * c;
        }
    }
  }
  EXPECT_TRUE(torch::allclose(energy.to(torch::kDouble), expected, 1e-5, 1e-7)) << energy << expected;
  // Rows of both attributes: blocks 0 and 1 (neurons 0-3) are partly on, partly off target; block 2 (region 2,
  // nobody's target) is all off.
  auto share = GroupSparsifier::over_edit_share(energy);
  EXPECT_GT(share.slice(1, 0, 4).min().item<float>(), 0.0f);
  EXPECT_LT(share.slice(1, 0, 4).max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::allclose(share.slice(1, 4, 6), torch::ones({2, 2})));
}

namespace {

// Two experts of 12 neurons (3 blocks of 4); attribute 0 (region 0) routes to expert 0, attribute 1 (region 1)
// to expert 1. Every neuron is active; the on-target blocks write, and in the off-target blocks only the
// hand-built off-target groups write (the others there write nothing, so they cannot over-edit).
struct HandBuilt {
  EditorContext ctx;
  EditorModel model{nullptr};
  torch::Tensor off_target;  // [2, 12] bool
};

HandBuilt hand_built() {
  HandBuilt hb;
  auto& ctx = hb.ctx;
  ctx.latent_shape = {12};
  ctx.edit_layers = {0};
  ctx.edit_index = torch::arange(12, torch::kLong);
  ctx.attribute_names = {"a", "b"};
  ctx.train_attributes = {0, 1};
  ctx.embeddings = torch::stack({embedding_with_energy({1, 0, 0}), embedding_with_energy({0, 1, 0})});
  ctx.clusters.k = 2;
  ctx.clusters.dim = 12;
  ctx.clusters.assignment = {0, 1};
  ctx.clusters.centroids = to_vector(ctx.embeddings.pow(2));
  ctx.expert_of_attribute = {0, 1};
  ctx.routing = torch::eye(2);
  ctx.regions = three_regions();
  region_map_set_targets(ctx.regions, to_vector(ctx.embeddings), 2, {0, 1}, 2, 0.8);
  ctx.label_correlation = torch::eye(2);
  ctx.identity_basis = std::get<0>(torch::linalg_qr(ctx.embeddings.t())).t().contiguous();
  ctx.linear_scale = 1.0;
  hb.model = model_by_hand(2, 24);
  hb.off_target = torch::zeros({2, 12}, torch::kBool);
  hb.off_target[0][5] = true;   // expert 0, block 1
  hb.off_target[0][9] = true;   // expert 0, block 2
  hb.off_target[1][2] = true;   // expert 1, block 0
  torch::NoGradGuard g;
  for (int k = 0; k < 2; ++k) {
    hb.model->w1[k].copy_(values({12, 24}, 20.0 + k) * 0.1);
    hb.model->b1[k].fill_(1.0);
    auto w2 = values({12, 12}, 30.0 + k);
    for (int64_t h = 0; h < 12; ++h) {
      const bool on_target_block = h / 4 == k;
      if (!on_target_block && !hb.off_target[k][h].item<bool>()) w2.select(1, h).zero_();
    }
    hb.model->w2[k].copy_(w2);
  }
  return hb;
}

// The rows of one step: both attributes, deterministic.
void batch(const EditorContext& ctx, int64_t step, int64_t rows, torch::Tensor& z, torch::Tensor& e, torch::Tensor& route) {
  auto attr = (torch::arange(rows) + step) % 2;
  z = values({rows, 12}, 40.0 + double(step));
  e = ctx.embeddings.index_select(0, attr);
  route = ctx.routing.index_select(0, attr);
}

// Soft routing and every neuron writing: each expert sees rows of both attributes, so the shares of blocks 0 and 1
// are between 0 and 1 and depend on which rows were seen.
void perturb(HandBuilt& hb) {
  torch::NoGradGuard g;
  for (int k = 0; k < 2; ++k) hb.model->w2[k].copy_(values({12, 12}, 50.0 + k));
  hb.ctx.routing = torch::tensor({0.7f, 0.3f, 0.4f, 0.6f}).reshape({2, 2});
}

EditorOptions schedule(double rate) {
  EditorOptions o;
  o.sparsity_rate = rate;
  o.sparsity_start = 2;
  o.sparsity_periods = 2;
  o.sparsity_period_steps = 3;
  o.over_edit_steps = 2;
  return o;
}

// Runs the sparsifier over steps [from, to) with the gradients of a loss on the edit; no optimiser, so the
// weights change only by the sparsifier's shrinking.
void run_steps(GroupSparsifier& s, HandBuilt& hb, int64_t from, int64_t to) {
  for (int64_t step = from; step < to; ++step) {
    torch::Tensor z, e, route;
    batch(hb.ctx, step, 16, z, e, route);
    hb.model->zero_grad();
    hb.model->delta(z, e, route).pow(2).sum().backward();
    s.before_step(step, z, e, route);
    s.after_step(step);
  }
}

}  // namespace

TEST(OverEditing, PruningAtTheOffTargetShareRemovesExactlyTheOffTargetGroups) {
  const double rate = 3.0 / 24.0;  // the share of hand-built off-target groups
  {
    auto hb = hand_built();
    auto o = schedule(rate);
    // Above the saliency's largest possible value (magnitude + taylor1, each normalised to 1): measured
    // over-editing decides first.
    o.crit_over_edit = 3;
    GroupSparsifier s(hb.model, o);
    run_steps(s, hb, 0, 12);
    EXPECT_TRUE(torch::equal(hb.model->group_mask == 0, hb.off_target)) << hb.model->group_mask;
    EXPECT_EQ(s.off_target_groups(), 3);
    EXPECT_EQ(s.off_target_pruned(), 3);
    EXPECT_NE(s.report().find("rate / off-target share = 1.000"), std::string::npos) << s.report();
    // Measured shares: 1 for the off-target groups, 0 for every other.
    EXPECT_TRUE(torch::equal(s.over_share() >= 0.999, hb.off_target));
    EXPECT_TRUE(torch::equal(s.over_share() <= 0.001, ~hb.off_target));

    // editor.h5 stores the measure and the rate against the off-target share.
    test::TempDir dir("over_edit_files");
    editor_save(dir.path(), hb.model, hb.ctx, s.history(), "");
    LatentStore f(dir / "editor.h5", "s3editor.editor");
    EXPECT_EQ(h5_attr_read_int64s(f.file(), "sparsity_off_target", "editor.h5"), (std::vector<int64_t>{24, 3, 3, 3}));
    EXPECT_EQ(f.attribute_text("sparsity_rate_over_off_target_share"), "1");
    EXPECT_EQ(f.read_array_i32("regions/attribute_targets"), (std::vector<int32_t>{1, 0, 0, 0, 1, 0}));
    auto loaded = editor_load(dir.path());
    ASSERT_TRUE(loaded.model->over_edit_share.defined());
    EXPECT_TRUE(torch::equal(loaded.model->over_edit_share, s.over_share()));
    EXPECT_EQ(loaded.ctx.regions.attribute_targets, hb.ctx.regions.attribute_targets);
  }
  {
    // Control: the saliency alone at the same rate prunes other groups.
    auto hb = hand_built();
    auto o = schedule(rate);
    o.over_edit_criterion = false;
    GroupSparsifier s(hb.model, o);
    run_steps(s, hb, 0, 12);
    EXPECT_EQ((hb.model->group_mask == 0).sum().item<int64_t>(), 3);
    EXPECT_FALSE(torch::equal(hb.model->group_mask == 0, hb.off_target));
  }
}

namespace {

// A run stopped and resumed from state() / restore ends exactly like an uninterrupted one: stopped after step 3 (just
// before the window of the selection at step 5: steps 4 and 5) and after step 4 (inside it).
void expect_resumed_equals_uninterrupted(const EditorOptions& o) {
  auto a = hand_built();
  perturb(a);
  GroupSparsifier sa(a.model, o);
  run_steps(sa, a, 0, 12);
  for (int64_t stop : {4, 5}) {
    auto c = hand_built();
    perturb(c);
    GroupSparsifier first(c.model, o);
    run_steps(first, c, 0, stop);
    auto state = first.state().clone();
    ASSERT_EQ(state.sizes(), (std::vector<int64_t>{4, 2, 12}));
    GroupSparsifier second(c.model, o);
    second.restore(state, first.history());
    run_steps(second, c, stop, 12);
    EXPECT_TRUE(torch::equal(c.model->group_mask, a.model->group_mask)) << "stop " << stop;
    EXPECT_TRUE(torch::allclose(second.over_share(), sa.over_share())) << "stop " << stop;
    EXPECT_TRUE(torch::allclose(second.last_scores(), sa.last_scores())) << "stop " << stop;
  }
}

}  // namespace

TEST(OverEditing, AResumedMeasuringWindowEqualsAnUninterruptedOne) {
  auto o = schedule(0.25);
  expect_resumed_equals_uninterrupted(o);
  auto b = hand_built();
  perturb(b);
  // Without the window's sums in the state, the resumed selection at step 5 would see only step 5's batch: the
  // state carries something that matters (the sums differ from one step's).
  GroupSparsifier probe(b.model, o);
  torch::Tensor z, e, route;
  batch(b.ctx, 5, 16, z, e, route);
  run_steps(probe, b, 0, 5);
  EXPECT_FALSE(torch::allclose(probe.state().slice(0, 1, 3), probe.over_edit_energy(z, e, route)));
}

TEST(OverEditing, OneAndTwoRanksMeasureAndPruneTheSame) {
  auto one = hand_built();
  perturb(one);
  auto o = schedule(0.25);
  GroupSparsifier s1(one.model, o);
  // The 1-rank run sees all 16 rows of a step; each fake rank sees 8 (rank r: rows 8r .. 8r + 7).
  for (int64_t step = 0; step < 12; ++step) {
    torch::Tensor z, e, route;
    batch(one.ctx, step, 16, z, e, route);
    s1.before_step(step, z, e, route);
    s1.after_step(step);
  }
  std::vector<HandBuilt> ranks = {hand_built(), hand_built()};
  for (auto& r : ranks) perturb(r);
  std::vector<torch::Tensor> state(2), scores(2), mask(2);
  FakeWorld world(2);
  auto errors = world.run([&](Communicator& comm) {
    auto& hb = ranks[size_t(comm.rank())];
    GroupSparsifier s(hb.model, o);
    s.set_rank_sum([&](torch::Tensor& t) { comm_allreduce(comm, t, ReduceOp::sum); });
    for (int64_t step = 0; step < 12; ++step) {
      torch::Tensor z, e, route;
      batch(hb.ctx, step, 16, z, e, route);
      auto half = torch::arange(8 * comm.rank(), 8 * comm.rank() + 8);
      s.before_step(step, z.index_select(0, half), e.index_select(0, half), route.index_select(0, half));
      s.after_step(step);
    }
    state[size_t(comm.rank())] = s.state();
    scores[size_t(comm.rank())] = s.last_scores();
    mask[size_t(comm.rank())] = hb.model->group_mask.clone();
  });
  for (auto& err : errors) ASSERT_FALSE(err);
  EXPECT_TRUE(torch::equal(state[0], state[1]));  // every rank holds the same sums
  EXPECT_TRUE(torch::equal(mask[0], mask[1]));
  EXPECT_TRUE(torch::allclose(state[0], s1.state(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(scores[0], s1.last_scores(), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(mask[0], one.model->group_mask));
  EXPECT_GT(s1.over_share().min().item<float>(), 0.0f);
  // One rank's rows alone measure something else: the sum over ranks is what makes them agree.
  auto probe = hand_built();
  perturb(probe);
  GroupSparsifier sp(probe.model, o);
  torch::Tensor z, e, route;
  batch(probe.ctx, 2, 16, z, e, route);
  auto half = torch::arange(0, 8);
  auto full_share = GroupSparsifier::over_edit_share(sp.over_edit_energy(z, e, route));
  auto half_share =
      GroupSparsifier::over_edit_share(sp.over_edit_energy(z.index_select(0, half), e.index_select(0, half), route.index_select(0, half)));
  EXPECT_FALSE(torch::allclose(full_share, half_share, 1e-3, 1e-4));
}

// sparsity.group = block: the unit is the (expert, region block); hand_built has 2 experts x 3 blocks of 4 neurons.
namespace {

// [K, R] bool from a [K, H] neuron tensor: whether every / any neuron of each block of 4 is set.
torch::Tensor blocks_all(const torch::Tensor& neurons) { return neurons.reshape({neurons.size(0), 3, 4}).all(2); }
torch::Tensor blocks_any(const torch::Tensor& neurons) { return neurons.reshape({neurons.size(0), 3, 4}).any(2); }

EditorOptions block_schedule(double rate) {
  auto o = schedule(rate);
  o.sparsity_group = "block";
  return o;
}

}  // namespace

TEST(OverEditing, BlockModePrunesWholeBlocksAndExactlyRoundRateTimesBlocks) {
  EXPECT_TRUE(torch::equal(GroupSparsifier::block_index(12, 3), torch::div(torch::arange(12, torch::kLong), 4, "floor")));
  // Neurons past R equal blocks belong to none (R); with H < R some blocks hold no neuron.
  EXPECT_TRUE(torch::equal(GroupSparsifier::block_index(7, 3), torch::tensor({0, 0, 1, 1, 2, 2, 3}, torch::kLong)));
  EXPECT_TRUE(torch::equal(GroupSparsifier::block_index(2, 3), torch::tensor({0, 1}, torch::kLong)));
  // 6 blocks: 0.2 -> 1.2 -> 1, 0.25 -> 1.5 -> 2 (half away from zero), 0.5 -> 3, 0.75 -> 4.5 -> 5.
  for (auto [rate, blocks] : std::vector<std::pair<double, int64_t>>{{0.2, 1}, {0.25, 2}, {0.5, 3}, {0.75, 5}}) {
    auto hb = hand_built();
    perturb(hb);  // every neuron writes: the scores differ within and between blocks
    GroupSparsifier s(hb.model, block_schedule(rate));
    ASSERT_TRUE(s.block_mode());
    EXPECT_EQ(s.units(), 6);
    EXPECT_EQ(s.target_units(), blocks) << rate;
    EXPECT_EQ(s.target_groups(), 4 * blocks) << rate;
    for (int64_t step = 0; step < 12; ++step) {
      run_steps(s, hb, step, step + 1);
      // Selections and masks are whole blocks at every step.
      EXPECT_TRUE(torch::equal(blocks_all(s.selected()), blocks_any(s.selected()))) << "rate " << rate << " step " << step;
      auto dead = hb.model->group_mask == 0;
      EXPECT_TRUE(torch::equal(blocks_all(dead), blocks_any(dead))) << "rate " << rate << " step " << step;
    }
    auto dead = hb.model->group_mask == 0;
    EXPECT_EQ(blocks_all(dead).sum().item<int64_t>(), blocks) << rate;
    EXPECT_EQ(dead.sum().item<int64_t>(), 4 * blocks) << rate;
    EXPECT_EQ(s.history().back().groups_zero, 4 * blocks);
    // Pruned neurons are exactly zero, the others are not.
    for (int k = 0; k < 2; ++k) {
      auto norm = hb.model->w1[k].abs().sum(1) + hb.model->b1[k].abs() + hb.model->w2[k].abs().sum(0);
      EXPECT_TRUE(torch::equal(norm == 0, dead[k])) << "rate " << rate << " expert " << k;
    }
    // Scores and shares are per block.
    auto scores = s.last_scores().reshape({2, 3, 4});
    EXPECT_TRUE(torch::equal(scores, scores.select(2, 0).unsqueeze(2).expand({2, 3, 4}))) << s.last_scores();
    EXPECT_NE(s.report().find(fmt::format("pruned {} of 6 (expert, region) blocks", blocks)), std::string::npos)
        << s.report();
  }
  // Neuron mode at the same rate counts neurons: round(0.25 * 24) = 6 neurons, not necessarily whole blocks.
  auto hb = hand_built();
  perturb(hb);
  GroupSparsifier s(hb.model, schedule(0.25));
  EXPECT_FALSE(s.block_mode());
  run_steps(s, hb, 0, 12);
  EXPECT_EQ((hb.model->group_mask == 0).sum().item<int64_t>(), 6);

  // A resumed block-mode run (state() / restore, stopped before and inside the measuring window) equals an
  // uninterrupted one.
  expect_resumed_equals_uninterrupted(block_schedule(0.5));
}

TEST(OverEditing, BlockWritingOutsideTheTargetsIsPrunedBeforeOneWritingInside) {
  // One expert, 6 neurons in 3 blocks of 2; every row edits an attribute of region 0, so block 0 writes inside
  // its rows' targets and blocks 1 and 2 only outside. Block 0 is made the least salient (small weights): the
  // saliency alone prunes it first, the measured over-editing prunes an outside block first.
  auto make = [] {
    auto model = model_by_hand(1, 6);
    torch::NoGradGuard g;
    model->w1[0].copy_(values({6, 24}, 0.5) * 0.1);
    model->b1[0].fill_(1.0);
    model->w2[0].copy_(values({12, 6}, 1.0));
    model->w1[0].slice(0, 0, 2).mul_(0.1);
    model->b1[0].slice(0, 0, 2).mul_(0.1);
    model->w2[0].slice(1, 0, 2).mul_(0.1);
    return model;
  };
  auto e = embedding_with_energy({1, 0, 0}).unsqueeze(0).repeat({8, 1});
  auto route = torch::ones({8, 1});
  auto run = [&](EditorModel& model, GroupSparsifier& s) {
    for (int64_t step = 0; step < 12; ++step) {
      auto z = values({8, 12}, 2.0 + double(step));
      model->zero_grad();
      model->delta(z, e, route).pow(2).sum().backward();
      s.before_step(step, z, e, route);
      s.after_step(step);
    }
  };
  auto pruned_blocks = [](const EditorModel& model) { return (model->group_mask[0] == 0).reshape({3, 2}).all(1); };
  {
    auto model = make();
    auto o = block_schedule(1.0 / 3);  // one block of three
    o.crit_over_edit = 3;              // above the saliency's range
    GroupSparsifier s(model, o);
    // Scoring one batch: block 0 scores higher than blocks 1 and 2; a block's neurons share its score.
    auto z = values({8, 12}, 2.0);
    model->zero_grad();
    model->delta(z, e, route).pow(2).sum().backward();
    auto score = s.score_groups(z, e, route);
    EXPECT_EQ(score[0][0].item<float>(), score[0][1].item<float>());
    EXPECT_GT(score[0][0].item<float>(), score[0][2].item<float>());
    EXPECT_GT(score[0][0].item<float>(), score[0][4].item<float>());
    run(model, s);
    auto blocks = pruned_blocks(model);
    EXPECT_FALSE(blocks[0].item<bool>()) << model->group_mask;
    EXPECT_EQ(blocks.sum().item<int64_t>(), 1);
    EXPECT_EQ(s.off_target_groups(), 2);  // blocks 1 and 2: share 1
    EXPECT_EQ(s.off_target_pruned(), 1);
    EXPECT_NE(s.report().find("off-target blocks pruned: 1 of 2"), std::string::npos) << s.report();
    EXPECT_FLOAT_EQ(s.over_share()[0][0].item<float>(), 0.0f);
    EXPECT_FLOAT_EQ(s.over_share()[0][3].item<float>(), 1.0f);
  }
  {
    // Control: the saliency alone prunes the inside block.
    auto model = make();
    auto o = block_schedule(1.0 / 3);
    o.over_edit_criterion = false;
    GroupSparsifier s(model, o);
    run(model, s);
    auto blocks = pruned_blocks(model);
    EXPECT_TRUE(blocks[0].item<bool>()) << model->group_mask;
    EXPECT_EQ(blocks.sum().item<int64_t>(), 1);
  }
}

TEST(OverEditing, BlockModePrunesExactlyTheOffTargetBlocksAtTheirShare) {
  // hand_built's off-target neurons sit in blocks (0, 1), (0, 2) and (1, 0), the only writers there: at rate 3/6
  // with the over-editing weight above the saliency's range, block mode removes exactly those three blocks.
  auto hb = hand_built();
  auto o = block_schedule(0.5);
  o.crit_over_edit = 3;
  GroupSparsifier s(hb.model, o);
  run_steps(s, hb, 0, 12);
  auto expected = blocks_any(hb.off_target);
  EXPECT_TRUE(torch::equal(blocks_all(hb.model->group_mask == 0), expected)) << hb.model->group_mask;
  EXPECT_TRUE(torch::equal(hb.model->group_mask == 0, expected.repeat_interleave(4, 1)));
  EXPECT_EQ(s.off_target_groups(), 3);
  EXPECT_EQ(s.off_target_pruned(), 3);
  EXPECT_NE(s.report().find("rate / off-target share = 1.000"), std::string::npos) << s.report();
}

namespace {

// A store of 12-dim flat latents, 3 attributes, optionally with a backbone region map (regions left, mid, right;
// dims 10 and 11 in none).
void write_store(const fs::path& path, bool with_map) {
  RowFileWriter w(path, k_store_schema, k_store_schema_version, store_columns({12}, 3));
  w.set_attr_int64s("latent_shape", {12});
  w.write_strings(k_ds_attribute_names, {"a", "b", "c"});
  auto lat = values({64, 12}, 60.0);
  for (int64_t r = 0; r < 64; ++r) {
    std::vector<float> row(lat[r].data_ptr<float>(), lat[r].data_ptr<float>() + 12);
    std::vector<float> lab = {float(r % 2), float((r / 2) % 2), float((r / 4) % 2)};
    int64_t video = -1, frame = r;
    w.append(k_col_latents, row.data(), 1);
    w.append(k_col_labels, lab.data(), 1);
    w.append(k_col_video_index, &video, 1);
    w.append(k_col_frame_index, &frame, 1);
  }
  if (with_map) {
    w.write_strings("backbone/region_names", {"left", "mid", "right"});
    std::vector<int32_t> map = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2, -1, -1};
    w.write_array_i32("backbone/region_of_dim", {12}, map.data());
    std::vector<int32_t> declared = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    w.write_array_i32("backbone/attribute_regions", {3, 3}, declared.data());
  }
  w.finalize();
}

}  // namespace

TEST(OverEditing, TheBackboneRegionMapIsUsedWhenTheStoreHasOneElseOneFromData) {
  test::TempDir dir("over_edit_regions");
  torch::manual_seed(5);
  ClassifierBundle classifier;
  classifier.net = LatentClassifier(12, 3, 16, 8);
  classifier.mean = torch::zeros({12});
  classifier.std = torch::ones({12});
  classifier.attribute_names = {"a", "b", "c"};
  std::vector<int64_t> rows(64);
  for (int64_t i = 0; i < 64; ++i) rows[size_t(i)] = i;
  EditorOptions o;
  o.clusters = 2;
  o.hidden_total = 48;

  write_store(dir / "with_map.h5", true);
  LatentStore with_map(dir / "with_map.h5");
  auto ctx = editor_context_build(classifier, with_map, rows, o, 7);
  EXPECT_EQ(ctx.regions.source, "backbone region map (left, mid, right, other)");
  EXPECT_EQ(ctx.regions.num_regions, 4);  // the backbone's 3 + other, whatever K (2 here)
  EXPECT_EQ(ctx.regions.region_of_dim, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3}));
  EXPECT_EQ(ctx.regions.declared_targets, (std::vector<int32_t>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}));
  // Targets are measured from the embeddings, not copied from the declaration.
  EXPECT_EQ(ctx.regions.attribute_targets, region_targets_by_energy(to_vector(ctx.embeddings), 3, ctx.regions, 0.8));
  auto model = EditorModel(editor_spec_make(o, ctx));
  EXPECT_EQ(model->hidden_per_expert() % 4, 0);
  EXPECT_EQ(model->block_of_neuron(model->hidden_per_expert() - 1), 3);  // 4 region blocks per expert
  editor_save(dir / "editor", model, ctx, {}, "");
  LatentStore saved(dir / "editor" / "editor.h5", "s3editor.editor");
  EXPECT_EQ(saved.attribute_text("region_source"), "backbone region map (left, mid, right, other)");
  EXPECT_EQ(saved.read_array_i32("regions/declared_targets"), ctx.regions.declared_targets);

  write_store(dir / "no_map.h5", false);
  LatentStore no_map(dir / "no_map.h5");
  auto data_ctx = editor_context_build(classifier, no_map, rows, o, 7);
  EXPECT_EQ(data_ctx.regions.source.rfind("classifier-gradient energy of 2 attribute groups", 0), 0u)
      << data_ctx.regions.source;
  EXPECT_EQ(data_ctx.regions.num_regions, 3);  // K clusters + shared by default
  EXPECT_TRUE(data_ctx.regions.declared_targets.empty());
  EXPECT_EQ(data_ctx.regions.attribute_targets.size(), 9u);
  // editor.regions: a grouping of its own, so R does not follow K.
  o.regions = 1;
  auto own = editor_context_build(classifier, no_map, rows, o, 7);
  EXPECT_EQ(own.regions.num_regions, 2);
  EXPECT_EQ(own.num_experts(), 2);
}
