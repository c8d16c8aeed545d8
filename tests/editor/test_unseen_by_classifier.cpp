// Attributes unseen by the classifier too (issue 16, the second kind of unseen edit): train-classifier's
// classifier.ignore_attributes (those heads get no gradient; the file records the mask) and classifier.rows (a
// share of the training rows, normalisation included); embeddings of such attributes from a second classifier
// (editor.embedding_classifier), mapped into the main classifier's normalised space; the refusals; L_reg leaving
// untrained heads out; editor.h5's record; and an end-to-end unseen edit through the s3editor binary, judged against
// the ground truth and against a noise control.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

#include "common/test_util.h"
#include "core/config.h"
#include "core/errors.h"
#include "editor/edit_losses.h"
#include "editor/editor_context.h"
#include "editor/editor_io.h"
#include "editor/latent_classifier.h"
#include "store/latent_store.h"
#include "store/row_file_writer.h"
#include "store/row_split.h"
#include "store/store_schema.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

// A store of 12-dim flat latents (not centred, not unit variance, so the normalisations matter), 3 attributes.
void write_store(const fs::path& path) {
  RowFileWriter w(path, k_store_schema, k_store_schema_version, store_columns({12}, 3));
  w.set_attr_int64s("latent_shape", {12});
  w.write_strings(k_ds_attribute_names, {"a", "b", "c"});
  for (int64_t r = 0; r < 64; ++r) {
    std::vector<float> row(12);
    for (int64_t d = 0; d < 12; ++d) row[size_t(d)] = float(0.5 * d + (1.0 + 0.2 * d) * std::sin(0.37 * double(r * 12 + d) + 1.0));
    std::vector<float> lab = {float(r % 2), float((r / 2) % 2), float((r / 4) % 2)};
    int64_t video = -1, frame = r;
    w.append(k_col_latents, row.data(), 1);
    w.append(k_col_labels, lab.data(), 1);
    w.append(k_col_video_index, &video, 1);
    w.append(k_col_frame_index, &frame, 1);
  }
  w.finalize();
}

// A random (untrained) classifier with its own normalisation.
ClassifierBundle make_classifier(uint64_t seed, double mean_shift, double std_scale, int64_t dim = 12) {
  torch::manual_seed(seed);
  ClassifierBundle c;
  c.net = LatentClassifier(dim, 3, 16, 8);
  for (auto& p : c.net->parameters()) p.set_requires_grad(false);
  c.mean = torch::linspace(-1, 1, dim) * mean_shift + 2.75;
  c.std = torch::linspace(0.5, 2.0, dim) * std_scale;
  c.attribute_names = {"a", "b", "c"};
  return c;
}

std::vector<int64_t> all_rows() {
  std::vector<int64_t> rows(64);
  for (int64_t i = 0; i < 64; ++i) rows[size_t(i)] = i;
  return rows;
}

EditorOptions small_options() {
  EditorOptions o;
  o.clusters = 1;
  o.hidden_total = 12;
  return o;
}

// The unseen set-up of the tests below: a main classifier that never trained attribute 2, whose embedding comes from
// a second classifier, a linear editor holding attribute 2 out, and its context built from the store.
struct UnseenSetUp {
  ClassifierBundle main, second;
  EditorOptions o;
  EditorContext ctx;
};

UnseenSetUp unseen_set_up(const LatentStore& store) {
  UnseenSetUp u;
  u.main = make_classifier(5, 0.8, 1.7);
  u.main.trained_attributes = {true, true, false};
  u.second = make_classifier(9, -0.4, 0.6);
  u.o = small_options();
  u.o.transform = "linear";
  u.o.heldout_attributes = {2};
  u.o.embedding_classifier = "second.pt";
  u.o.embedding_attributes = {2};
  u.ctx = editor_context_build(u.main, store, all_rows(), u.o, 7, &u.second);
  return u;
}

// Runs `f` and returns the message of the exception of type E it throws ("" and a failure when it throws none).
template <typename E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

// The mapping d C2_a / d z_main = d C2_a / d x * std_main: when the second classifier is the main one, the
// embedding is the normal one (to float rounding: the gradient is divided by std and multiplied back).
TEST(UnseenByClassifier, EmbeddingFromTheSameClassifierEqualsTheNormalOne) {
  test::TempDir dir("unseen_same");
  write_store(dir / "store.h5");
  LatentStore store(dir / "store.h5");
  auto main = make_classifier(5, 0.8, 1.7);
  EditorOptions o = small_options();
  auto normal = editor_context_build(main, store, all_rows(), o, 7);
  o.embedding_classifier = "same.pt";
  o.embedding_attributes = {0, 2};
  auto same = editor_context_build(main, store, all_rows(), o, 7, &main);
  EXPECT_LT((normal.embeddings - same.embeddings).abs().max().item<double>(), 1e-6);
  EXPECT_GT(normal.embeddings.abs().max().item<double>(), 0.1);  // not trivially zero
  EXPECT_EQ(same.embedding_attributes, (std::vector<int>{0, 2}));
}

// A different classifier (other weights, other normalisation): the embedding is its logit's gradient w.r.t. the
// main classifier's normalised latent, computed here by autograd through x = z * std_main + mean_main (the
// definition, not the implementation's formula), on the same rows, editable dims, mean, normalised. Attributes not
// taken from it keep the main classifier's embedding exactly.
TEST(UnseenByClassifier, EmbeddingFromAnotherClassifierIsItsGradientInTheMainSpace) {
  test::TempDir dir("unseen_other");
  write_store(dir / "store.h5");
  LatentStore store(dir / "store.h5");
  auto main = make_classifier(5, 0.8, 1.7);
  auto second = make_classifier(9, -0.4, 0.6);
  EditorOptions o = small_options();
  o.embedding_samples = 40;  // a prefix of the rows, as for the main classifier
  auto normal = editor_context_build(main, store, all_rows(), o, 7);
  o.embedding_classifier = "second.pt";
  o.embedding_attributes = {1};
  auto ctx = editor_context_build(main, store, all_rows(), o, 7, &second);

  std::vector<int64_t> sample(40);
  for (int64_t i = 0; i < 40; ++i) sample[size_t(i)] = i;
  auto x = torch::empty({40, 12});
  store.read_latents(sample, x.data_ptr<float>());
  auto z = ((x - main.mean) / main.std).detach().requires_grad_(true);
  auto x_of_z = z * main.std + main.mean;
  auto logit = second.net->forward((x_of_z - second.mean) / second.std).select(1, 1).sum();
  auto grad = torch::autograd::grad({logit}, {z})[0];
  auto e = grad.index_select(1, ctx.edit_index).mean(0);
  e = e / e.norm();
  EXPECT_LT((ctx.embeddings[1] - e).abs().max().item<double>(), 1e-6);
  // Not the main classifier's direction (the test would pass vacuously otherwise).
  EXPECT_GT((normal.embeddings[1] - e).abs().max().item<double>(), 0.05);
  EXPECT_TRUE(torch::equal(ctx.embeddings[0], normal.embeddings[0]));
  EXPECT_TRUE(torch::equal(ctx.embeddings[2], normal.embeddings[2]));
}

TEST(UnseenByClassifier, RefusalsNameTheKeysAndAcceptTheUnseenSetUp) {
  test::TempDir dir("unseen_refuse");
  write_store(dir / "store.h5");
  LatentStore store(dir / "store.h5");
  auto main = make_classifier(5, 0.8, 1.7);
  main.trained_attributes = {true, true, false};  // classifier.ignore_attributes = 2
  auto second = make_classifier(9, -0.4, 0.6);
  EditorOptions o = small_options();
  auto build = [&](const ClassifierBundle* s) { return editor_context_build(main, store, all_rows(), o, 7, s); };

  // An attribute the classifier ignored cannot be trained on.
  auto m = message_of<UsageError>([&] { build(nullptr); });
  EXPECT_TRUE(contains(m, "attribute 2 (c) was not trained by the classifier")) << m;
  EXPECT_TRUE(contains(m, "is not in editor.heldout_attributes")) << m;
  // Held out, but its embedding would come from the untrained head.
  o.heldout_attributes = {2};
  m = message_of<UsageError>([&] { build(nullptr); });
  EXPECT_TRUE(contains(m, "gets no embedding from a second classifier")) << m;
  EXPECT_TRUE(contains(m, "editor.embedding_attributes")) << m;
  // Embedding attributes without a second classifier.
  o.embedding_classifier = "second.pt";
  o.embedding_attributes = {2};
  m = message_of<UsageError>([&] { build(nullptr); });
  EXPECT_TRUE(contains(m, "no embedding classifier was given")) << m;
  // The second classifier ignored it too.
  auto blind = second;
  blind.trained_attributes = {true, true, false};
  m = message_of<UsageError>([&] { build(&blind); });
  EXPECT_TRUE(contains(m, "config key editor.embedding_attributes: attribute 2 (c) was not trained by second.pt")) << m;
  // A second classifier of another latent shape.
  auto other_shape = make_classifier(9, -0.4, 0.6, 10);
  m = message_of<DataError>([&] { build(&other_shape); });
  EXPECT_TRUE(contains(m, "second.pt (editor.embedding_classifier): classifier is for 10 dims x 3 attributes")) << m;
  // An index outside the attributes.
  o.embedding_attributes = {2, 3};
  m = message_of<UsageError>([&] { build(&second); });
  EXPECT_TRUE(contains(m, "config key editor.embedding_attributes: 3 is outside 0..2")) << m;

  // The keys alone: one without the other is refused before any data is read.
  ConfigSchema schema;
  editor_add_config(schema);
  m = message_of<UsageError>([&] {
    editor_options_from_config(config_resolve(schema, {}, {{"editor.embedding_attributes", "2"}}));
  });
  EXPECT_TRUE(contains(m, "editor.embedding_classifier")) << m;
  m = message_of<UsageError>([&] {
    editor_options_from_config(config_resolve(schema, {}, {{"editor.embedding_classifier", "second.pt"}}));
  });
  EXPECT_TRUE(contains(m, "editor.embedding_attributes names no attribute")) << m;
  auto parsed = editor_options_from_config(config_resolve(
      schema, {}, {{"editor.embedding_classifier", "second.pt"}, {"editor.embedding_attributes", "1-2"}}));
  EXPECT_EQ(parsed.embedding_attributes, (std::vector<int>{1, 2}));

  // The set-up of the second kind of unseen attribute is accepted, and the context says which heads were trained.
  o.embedding_attributes = {2};
  auto ctx = build(&second);
  EXPECT_EQ(ctx.classifier_trained, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_EQ(ctx.embedding_attributes, (std::vector<int>{2}));
  EXPECT_EQ(ctx.heldout_attributes, (std::vector<int>{2}));
}

// L_reg's mask leaves out the logits of heads the classifier never trained: changing such a head (its fc3 row)
// leaves L_reg as it was, changing a trained one does not; with every head marked trained, the same change counts.
TEST(UnseenByClassifier, RegLossIgnoresUntrainedHeads) {
  test::TempDir dir("unseen_reg");
  write_store(dir / "store.h5");
  LatentStore store(dir / "store.h5");
  auto u = unseen_set_up(store);
  auto &main = u.main;
  auto &o = u.o;
  auto &ctx = u.ctx;
  ctx.label_correlation = torch::eye(3);  // every other logit counts fully in the mask
  torch::manual_seed(3);
  EditorModel model(editor_spec_make(o, ctx));

  auto x = torch::empty({8, 12});
  std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  store.read_latents(rows, x.data_ptr<float>());
  EditBatch b;
  b.z_in = main.normalise(x);
  b.attribute = torch::tensor({0, 1, 0, 1, 0, 1, 0, 1}, torch::kLong);
  b.g = torch::full({8}, 0.7f);
  b.target = torch::ones({8});
  b.self_mask = torch::zeros({8}, torch::kBool);
  auto reg = [&](const EditorContext& c, const ClassifierBundle& cl) {
    torch::NoGradGuard no_grad;
    return edit_losses(model, c, cl, o, b, 8, 4).reg.item<double>();
  };
  auto changed_head = [&](int64_t a) {
    ClassifierBundle c = main;
    c.net = LatentClassifier(12, 3, 16, 8);
    torch::NoGradGuard no_grad;
    auto src = main.net->parameters(), dst = c.net->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
    c.net->fc3->weight[a].mul_(-3.0).add_(0.5);
    return c;
  };
  const double base = reg(ctx, main);
  EXPECT_GT(base, 0.0);
  EXPECT_EQ(reg(ctx, changed_head(2)), base);  // the untrained head: out of L_reg
  EXPECT_NE(reg(ctx, changed_head(1)), base);  // a trained one counts
  auto all_trained = ctx;
  all_trained.classifier_trained.assign(3, 1);
  EXPECT_NE(reg(all_trained, changed_head(2)), reg(all_trained, main));
}

// The context's record of the classifier's mask and the second classifier round-trips through editor.h5; editors
// and classifier files saved before these existed load as "every attribute trained, no second classifier".
TEST(UnseenByClassifier, EditorFileRecordsItAndOldFilesLoadAsAllTrained) {
  test::TempDir dir("unseen_io");
  write_store(dir / "store.h5");
  LatentStore store(dir / "store.h5");
  auto u = unseen_set_up(store);
  auto &main = u.main;
  auto &o = u.o;
  auto &ctx = u.ctx;
  ctx.embedding_classifier_sha256 = "ab12";
  ctx.embedding_classifier_path = "/somewhere/second.pt";
  torch::manual_seed(3);
  EditorModel model(editor_spec_make(o, ctx));
  editor_save(dir / "editor", model, ctx, {}, "");
  auto loaded = editor_load(dir / "editor").ctx;
  EXPECT_EQ(loaded.classifier_trained, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_EQ(loaded.embedding_attributes, (std::vector<int>{2}));
  EXPECT_EQ(loaded.embedding_classifier_sha256, "ab12");
  EXPECT_EQ(loaded.embedding_classifier_path, "/somewhere/second.pt");

  // The classifier file keeps its mask.
  classifier_save(main, dir / "c.pt");
  EXPECT_EQ(classifier_load(dir / "c.pt").trained_attributes, (std::vector<bool>{true, true, false}));

  const fs::path fixtures = fs::path(S3E_SOURCE_DIR) / "tests/fixtures/eval_latent_v1";
  auto old_classifier = classifier_load(fixtures / "classifier.pt");
  EXPECT_EQ(old_classifier.trained_attributes, std::vector<bool>(size_t(old_classifier.net->num_attributes()), true));
  auto old_editor = editor_load(fixtures / "linear").ctx;
  EXPECT_EQ(old_editor.classifier_trained, std::vector<uint8_t>(old_editor.attribute_names.size(), 1));
  EXPECT_TRUE(old_editor.embedding_attributes.empty());
  EXPECT_EQ(old_editor.embedding_classifier_sha256, "");
}

// ---- Through the s3editor binary, on a small synthetic world (6 attributes, 4 and 5 unseen by the classifier).

namespace {

class UnseenCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("unseen_cli");
    run("synth --set synth.num_samples=600 --set synth.layers=4 --set synth.channels=32 --set synth.num_attributes=6 "
        "--set synth.edit_layers=0-2 --set synth.num_regions=3 --seed 3 --out " + d() + "/world.h5 --run-dir " + d() +
        "/synth");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string d() { return dir_->path().string(); }
  static void run(const std::string& args, int expect = 0) {
    auto r = test::run_s3editor(args);
    ASSERT_EQ(r.exit_code, expect) << args << "\n" << r.output;
  }
  // A classifier at <name>/classifier.pt (its metrics beside it) with the small network of the other CLI tests.
  static std::string classifier(const std::string& name, const std::string& extra) {
    const std::string out = d() + "/" + name + "/classifier.pt";
    auto r = test::run_s3editor("train-classifier --store " + d() + "/world.h5 --out " + out + " --run-dir " + d() +
                                "/run_" + name + " --set classifier.hidden1=64 --set classifier.hidden2=32 "
                                "--set classifier.batch_size=64 --log-level warn " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return out;
  }
  static test::TempDir* dir_;
};
test::TempDir* UnseenCli::dir_ = nullptr;

torch::Tensor fc3_row(const ClassifierBundle& c, int64_t a) {
  return torch::cat({c.net->fc3->weight[a], c.net->fc3->bias.slice(0, a, a + 1)});
}

}  // namespace

// classifier.ignore_attributes with weight decay 0: the ignored heads (fc3 rows) end exactly at their initial
// values (those of the same run with lr 0), the trained heads and the hidden layers moved; the file and the metrics
// say which attributes were trained. classifier.rows: the normalisation is that of those rows exactly.
TEST_F(UnseenCli, IgnoredAttributesKeepTheirInitialHeadsAndRowsChooseTheData) {
  const std::string keys = "--set classifier.steps=60 --set classifier.weight_decay=0 --set classifier.lr=1e-3 "
                           "--set classifier.ignore_attributes=4-5 --set classifier.rows=0.5-1";
  const std::string trained_path = classifier("ignore", keys);
  const std::string init_path = classifier("ignore_init", keys + " --set classifier.lr=0");
  auto trained = classifier_load(trained_path), init = classifier_load(init_path);
  EXPECT_EQ(trained.trained_attributes, (std::vector<bool>{true, true, true, true, false, false}));
  for (int64_t a : {4, 5}) EXPECT_TRUE(torch::equal(fc3_row(trained, a), fc3_row(init, a))) << "head " << a;
  for (int64_t a : {0, 1, 2, 3}) EXPECT_FALSE(torch::equal(fc3_row(trained, a), fc3_row(init, a))) << "head " << a;
  EXPECT_FALSE(torch::equal(trained.net->fc1->weight, init.net->fc1->weight));

  auto j = nlohmann::json::parse(test::read_file(fs::path(d()) / "ignore/classifier_metrics.json"));
  EXPECT_EQ(j["ignored_attributes"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["trained_attributes"], 4) << j.dump(2);
  double mean = 0;
  LatentStore store(d() + "/world.h5");
  for (int a = 0; a < 4; ++a) mean += j["accuracy"][store.attribute_names()[size_t(a)]].get<double>() / 4;
  EXPECT_NEAR(j["mean_accuracy"].get<double>(), mean, 1e-9) << j.dump(2);
  EXPECT_EQ(j["ignored_attributes"][0], store.attribute_names()[4]);

  // Rows 0.5-1 of the 540 training rows: 270..539; the normalisation is theirs (norm_samples covers them all).
  const RowSplit split = row_split(store, 0.1);
  std::vector<int64_t> half(split.train.begin() + 270, split.train.end());
  auto x = torch::empty({int64_t(half.size()), store.latent_dim()});
  store.read_latents(half, x.data_ptr<float>());
  EXPECT_LT((trained.mean - x.to(torch::kDouble).mean(0).to(torch::kFloat)).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(j["training_rows"]["count"], 270) << j.dump(2);

  // Bad values are usage errors naming the key.
  auto r = test::run_s3editor("train-classifier --store " + d() + "/world.h5 --out " + d() + "/bad.pt --run-dir " + d() +
                              "/run_bad --set classifier.rows=0.6-0.2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "config key classifier.rows: '0.6-0.2'")) << r.output;
  r = test::run_s3editor("train-classifier --store " + d() + "/world.h5 --out " + d() + "/bad.pt --run-dir " + d() +
                         "/run_bad --set classifier.rows=half");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "config key classifier.rows")) << r.output;
  r = test::run_s3editor("train-classifier --store " + d() + "/world.h5 --out " + d() + "/bad.pt --run-dir " + d() +
                         "/run_bad --set classifier.ignore_attributes=6");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "config key classifier.ignore_attributes: 6 is outside 0..5")) << r.output;
}

// The whole chain for attributes unseen by the classifier too: the main classifier never learns 4 and 5 and trains
// on rows 0-0.5; a second classifier on the other rows (0.5-1) knows every attribute and gives 4 and 5 their
// embeddings. The refining region_mlp editor trains 30 steps; flip-each edits of the held-out rows are judged by
// the ground truth. Control: the same chain with an untrained second classifier (lr 0: random heads that claim to be
// trained), i.e. noise embeddings. Thresholds: see the measured values in the assertions' comments.
TEST_F(UnseenCli, UnseenEditsSucceedWithEmbeddingsFromASecondClassifier) {
  const std::string common = "--set classifier.steps=300 --set classifier.lr=1e-3";
  const std::string main = classifier("main", common + " --set classifier.ignore_attributes=4-5 --set classifier.rows=0-0.5");
  const std::string second = classifier("second", common + " --set classifier.rows=0.5-1");
  const std::string noise = classifier("noise", "--set classifier.steps=1 --set classifier.lr=0 --set classifier.rows=0.5-1");
  auto train = [&](const std::string& name, const std::string& extra) {
    return "train --store " + d() + "/world.h5 --classifier " + main + " --out " + d() + "/" + name + " --run-dir " +
           d() + "/run_" + name + " --set editor.edit_layers=0-2 --set editor.hidden_total=48 --set editor.clusters=2 "
           "--set train.steps=30 --set train.batch_size=32 --set train.lr=1e-3 --set sparsity.rate=0 "
           "--set editor.heldout_attributes=4-5 --log-level warn " + extra;
  };
  // Refused: training the editor against a classifier that never learned 4-5 without naming where their embedding
  // comes from, or with 5 trained on.
  auto r = test::run_s3editor(train("refused", ""));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "gets no embedding from a second classifier")) << r.output;
  r = test::run_s3editor(train("refused", "--set editor.heldout_attributes=4 --set editor.embedding_classifier=" +
                                              second + " --set editor.embedding_attributes=4-5"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "attribute 5 (") && contains(r.output, "is not in editor.heldout_attributes"))
      << r.output;

  auto unseen_success = [&](const std::string& name, const std::string& embedding_classifier) {
    run(train(name, "--set editor.embedding_classifier=" + embedding_classifier +
                        " --set editor.embedding_attributes=4-5"));
    run("edit --store " + d() + "/world.h5 --editor " + d() + "/" + name + " --protocol flip-each --rows heldout "
        "--out " + d() + "/" + name + "_edited.h5 --run-dir " + d() + "/run_" + name + "_edit --log-level warn");
    run("eval-latent --edited " + d() + "/" + name + "_edited.h5 --out " + d() + "/" + name + "_eval.json --run-dir " +
        d() + "/run_" + name + "_eval --log-level warn");
    auto j = nlohmann::json::parse(test::read_file(fs::path(d()) / (name + "_eval.json")));
    EXPECT_EQ(j["summary"]["unseen"]["attributes"], 2) << j.dump(2);
    std::cout << name << ": seen success " << j["summary"]["seen"]["success"] << ", unseen success "
              << j["summary"]["unseen"]["success"] << "\n";
    return std::make_pair(j["summary"]["seen"]["success"].get<double>(), j["summary"]["unseen"]["success"].get<double>());
  };
  const auto [seen, unseen] = unseen_success("editor", second);
  const auto [noise_seen, noise_unseen] = unseen_success("editor_noise", noise);
  EXPECT_GT(unseen, 0.5);
  EXPECT_GT(unseen, noise_unseen + 0.3);
  EXPECT_GT(seen, 0.5);

  // editor.h5 records the second classifier and which heads the main one trained.
  LatentStore h5(fs::path(d()) / "editor/editor.h5", "s3editor.editor");
  EXPECT_EQ(h5.attribute_text("embedding_classifier_sha256"), test::sha256_of(second));
  EXPECT_EQ(h5.attribute_text("embedding_classifier_path"), second);
  EXPECT_EQ(h5.read_array_i32("embedding_attributes"), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(h5.read_array_i32("classifier_trained"), (std::vector<int32_t>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(h5.attribute_text("classifier_sha256"), test::sha256_of(main));
}
