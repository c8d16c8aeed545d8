// Reference test of the editor's training maths against an independent python3-torch implementation
// (tests/reference/test_edit_reference.py) of Latent Transformer's losses and the S3Editor terms: class-balanced
// BCE (T_coeff = B/#pos, F_coeff = B/#neg), reconstruction MSE, attribute regularisation MSE masked by
// 1 - |label correlation|, identity probe and cycle terms, and two torch Adam steps of a region_mlp expert set
// (soft routing, one pruned group; experts from scratch and refining the linear edit) and of lt_linear per-layer maps (equalised learning rate). The C++ side dumps
// inputs, losses, gradients and parameters as .npy; the script recomputes everything in float64 from the inputs
// and the initial parameters and fails when any value differs by more than 1e-5 (relative to max(1, |value|)).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>

#include "common/test_util.h"
#include "editor/edit_batch.h"
#include "editor/edit_losses.h"
#include "editor/editor_apply.h"
#include "editor/editor_model.h"
#include "store/npy_writer.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

void dump(const fs::path& dir, const std::string& name, const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat).contiguous();
  std::vector<int64_t> shape(c.sizes().begin(), c.sizes().end());
  if (shape.empty()) shape = {1};
  NpyWriter w(dir / (name + ".npy"), shape);
  w.append_rows(c.data_ptr<float>(), shape[0]);
  w.finalize();
}

// A small world: latents [3 layers, 4 channels], layers 0-1 editable (De = 8), A = 4 attributes.
struct Problem {
  ClassifierBundle classifier;
  EditorContext ctx;
  EditBatch batch;
};

Problem make_problem(int num_experts) {
  torch::manual_seed(11);
  Problem p;
  const int64_t D = 12, A = 4, B = 6;
  p.classifier.net = LatentClassifier(D, A, 16, 8);
  for (auto& w : p.classifier.net->parameters()) w.set_requires_grad(false);
  p.classifier.net->eval();
  auto& c = p.ctx;
  c.latent_shape = {3, 4};
  c.edit_layers = {0, 1};
  c.edit_index = torch::arange(8, torch::kLong);
  c.attribute_names = {"a0", "a1", "a2", "a3"};
  c.train_attributes = {0, 1, 2, 3};
  c.embeddings = torch::randn({A, 8});
  c.embeddings = c.embeddings / c.embeddings.norm(2, 1, true);
  c.clusters.k = num_experts;
  c.clusters.dim = 8;
  if (num_experts == 2) {
    c.routing = torch::tensor({{1.f, 0.f}, {0.7f, 0.3f}, {0.2f, 0.8f}, {0.f, 1.f}});  // soft, with hard rows
  } else {
    c.routing = torch::eye(A);  // lt_linear: one transform per attribute
  }
  c.regions.num_regions = 3;
  c.regions.region_of_dim = {0, 0, 1, 2, 1, 1, 0, 2};
  auto corr = torch::rand({A, A}) * 2 - 1;
  corr = (corr + corr.t()) / 2;
  corr.fill_diagonal_(1.0);
  c.label_correlation = corr;
  c.identity_basis = std::get<0>(torch::linalg_qr(c.embeddings.t())).t().contiguous();
  c.linear_scale = 1.5;
  auto& b = p.batch;
  b.z_in = torch::randn({B, D});
  b.attribute = torch::tensor({0, 1, 2, 3, 1, 2}, torch::kLong);
  b.g = torch::tensor({0.8f, -0.3f, 0.55f, -0.9f, 0.2f, -0.6f});
  b.target = torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 1.f});  // 4 positives, 2 negatives: unequal class weights
  b.self_mask = torch::tensor({1, 0, 1, 0, 1, 0}).to(torch::kBool);
  return p;
}

void dump_problem(const fs::path& dir, const Problem& p) {
  int i = 0;
  for (auto& w : p.classifier.net->parameters()) dump(dir, fmt::format("clf_{}", i++), w);
  dump(dir, "edit_index", p.ctx.edit_index);
  dump(dir, "embeddings", p.ctx.embeddings);
  dump(dir, "routing", p.ctx.routing);
  dump(dir, "label_correlation", p.ctx.label_correlation);
  dump(dir, "identity_basis", p.ctx.identity_basis);
  dump(dir, "region_of_dim", torch::tensor(p.ctx.regions.region_of_dim));
  dump(dir, "z_in", p.batch.z_in);
  dump(dir, "attribute", p.batch.attribute);
  dump(dir, "g", p.batch.g);
  dump(dir, "target", p.batch.target);
}

// Two Adam steps on the fixed batch; dumps losses, gradients and parameters at every step.
void run_steps(const fs::path& dir, EditorModel& model, const Problem& p, const EditorOptions& o, double lr,
               double weight_decay) {
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(lr).weight_decay(weight_decay));
  const double rows = double(p.batch.target.size(0)), positives = p.batch.target.sum().item<double>();
  for (auto& item : model->named_parameters()) dump(dir, "p0_" + item.key(), item.value());
  for (int step = 1; step <= 2; ++step) {
    adam.zero_grad();
    auto l = edit_losses(model, p.ctx, p.classifier, o, p.batch, rows, positives);
    l.total.backward();
    dump(dir, fmt::format("loss{}", step), torch::stack({l.faith, l.recon, l.reg, l.identity, l.cycle, l.total}));
    if (step == 1) {
      torch::NoGradGuard no_grad;
      dump(dir, "z_edit", editor_apply(model, p.ctx, p.batch.z_in, p.batch.attribute, p.batch.g));
    }
    for (auto& item : model->named_parameters())
      dump(dir, fmt::format("g{}_{}", step, item.key()), item.value().grad());
    adam.step();
    for (auto& item : model->named_parameters()) dump(dir, fmt::format("p{}_{}", step, item.key()), item.value());
  }
}

void check_with_python(const fs::path& dir, const std::string& transform, const EditorOptions& o, double lr,
                       double weight_decay, double lr_mul, const std::string& extra = "") {
  std::string args = fmt::format(
      "{} --transform {} --faith {} --recon {} --reg {} --identity {} --cycle {} --lr {} --weight-decay {} --lr-mul {} {}",
      test::shell_quote(dir.string()), transform, o.w_faith, o.w_recon, o.w_reg, o.w_identity, o.w_cycle, lr,
      weight_decay, lr_mul, extra);
  auto r = test::run_command(std::string(S3E_PYTHON3) + " " + S3E_SOURCE_DIR +
                             "/tests/reference/test_edit_reference.py " + args + " 2>&1");
  std::cout << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("max relative difference"), std::string::npos) << r.output;
}

// A region_mlp editor with identity and cycle terms on: two Adam steps in C++, then the python reference.
void check_region_mlp(const fs::path& dir, EditorModel& model, const Problem& p, const std::string& extra = "") {
  EditorOptions o;
  o.w_identity = 0.5;
  o.w_cycle = 0.3;
  dump_problem(dir, p);
  dump(dir, "group_mask", model->group_mask);
  run_steps(dir, model, p, o, 1e-2, 1e-3);
  check_with_python(dir, "region_mlp", o, 1e-2, 1e-3, 1.0, extra);
}

}  // namespace

TEST(EditReference, RegionMlpLossesAndAdamSteps) {
  test::TempDir dir("edit_reference_mlp");
  Problem p = make_problem(2);
  EditorSpec spec;
  spec.transform = "region_mlp";
  spec.edit_dim = 8;
  spec.layer_channels = 4;
  spec.num_experts = 2;
  spec.hidden_total = 12;  // 6 neurons per expert, 2 per region block
  spec.regions = p.ctx.regions;
  torch::manual_seed(5);
  EditorModel model(spec);
  {
    torch::NoGradGuard no_grad;
    for (auto& w : model->w2) w.mul_(10);  // a visible edit, so every loss term has a gradient worth comparing
    model->group_mask[1][4] = 0;           // one pruned neuron group
  }
  check_region_mlp(dir.path(), model, p);
}

TEST(EditReference, RefiningRegionMlpLossesAndAdamSteps) {
  test::TempDir dir("edit_reference_refine");
  Problem p = make_problem(2);
  EditorSpec spec;
  spec.transform = "region_mlp";
  spec.expert_mode = "refine";
  spec.linear_scale = p.ctx.linear_scale;
  spec.embedding_scale = std::sqrt(8.0);  // c = sqrt(De)
  spec.edit_dim = 8;
  spec.layer_channels = 4;
  spec.num_experts = 2;
  spec.hidden_total = 12;
  spec.regions = p.ctx.regions;
  torch::manual_seed(7);
  EditorModel model(spec);
  {
    torch::NoGradGuard no_grad;
    // The output layer starts at zero (the editor is then the linear edit); a trained-looking one makes the
    // experts' path, the one that differs from scratch, show in every loss and gradient compared.
    for (auto& w : model->w2) w.normal_(0, 0.3);
    model->group_mask[0][1] = 0;
  }
  check_region_mlp(dir.path(), model, p,
                   fmt::format("--expert-mode refine --linear-scale {} --embedding-scale {}", spec.linear_scale,
                               spec.embedding_scale));
}

TEST(EditReference, LtLinearLossesAndAdamSteps) {
  test::TempDir dir("edit_reference_lt");
  Problem p = make_problem(4);
  EditorSpec spec;
  spec.transform = "lt_linear";
  spec.edit_dim = 8;
  spec.layer_channels = 4;
  spec.num_experts = 4;
  spec.lr_mul = 0.5;
  torch::manual_seed(6);
  EditorModel model(spec);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : model->lt_bias) b.normal_(0, 0.1);  // non-zero biases, so the bias path is compared too
  }
  EditorOptions o;  // Latent Transformer's own weights: faith 1, recon 10, reg 1, no identity, no cycle
  dump_problem(dir.path(), p);
  run_steps(dir.path(), model, p, o, 1e-3, 0.0);
  check_with_python(dir.path(), "lt_linear", o, 1e-3, 0.0, 0.5);
}
