// EditorRuntime (editor/editor_runtime.h) on the fixture editors of tests/fixtures/eval_latent_v1 (saved before
// editor.h5 stored the normalisation, so they need their classifier): the same numbers as the training-time path,
// untouched dims bit-identical, recipes chained, rows independent, and clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/test_util.h"
#include "core/errors.h"
#include "editor/editor_apply.h"
#include "editor/editor_io.h"
#include "editor/editor_runtime.h"
#include "editor/latent_classifier.h"
#include "store/h5_util.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) { return fs::path(S3E_SOURCE_DIR) / "tests/fixtures/eval_latent_v1" / name; }

torch::Tensor some_latents(int64_t n, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({n, d});
}

}  // namespace

TEST(EditorRuntime, MatchesTheTrainingTimePathBitForBit) {
  for (const char* method : {"linear", "lt", "s3editor"}) {
    EditorRuntime rt(fixture(method), fixture("classifier.pt"));
    // Saved before editor.expert_mode existed: a region_mlp fixture is a scratch editor.
    EXPECT_EQ(rt.spec().expert_mode, "scratch") << method;
    ClassifierBundle classifier = classifier_load(fixture("classifier.pt"));
    EditorBundle bundle = editor_load(fixture(method));
    bundle.model->eval();
    torch::NoGradGuard no_grad;
    auto x = some_latents(16, rt.latent_dim(), 3);
    auto attribute = torch::arange(16, torch::kLong) % int64_t(rt.attribute_names().size());
    auto g = torch::where(torch::arange(16) % 2 == 0, torch::ones({16}), -torch::ones({16}));
    auto z = classifier.normalise(x);
    auto expected = x + (editor_apply(bundle.model, bundle.ctx, z, attribute, g) - z) * classifier.std;
    EXPECT_TRUE(torch::equal(rt.apply(x, attribute, g), expected)) << method;
  }
}

TEST(EditorRuntime, LeavesDimsItDoesNotEditBitIdentical) {
  EditorRuntime rt(fixture("s3editor"), fixture("classifier.pt"));
  auto x = some_latents(8, rt.latent_dim(), 4);
  auto y = rt.apply(x, torch::full({8}, int64_t(2), torch::kLong), torch::ones({8}));
  auto edited = torch::zeros({rt.latent_dim()}, torch::kBool);
  edited.index_fill_(0, rt.context().edit_index, true);
  auto untouched = edited.logical_not();
  ASSERT_GT(untouched.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(y.index({torch::indexing::Slice(), untouched}), x.index({torch::indexing::Slice(), untouched})));
  EXPECT_GT((y - x).abs().max().item<float>(), 1e-3);  // and it edits something
}

TEST(EditorRuntime, RecipesChainStepsAndRowsAreIndependent) {
  EditorRuntime rt(fixture("lt"), fixture("classifier.pt"));
  auto x = some_latents(6, rt.latent_dim(), 5);
  auto steps = rt.parse_recipe({"attr_01=1", "attr_04=-0.5"});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].attribute, 4);
  EXPECT_DOUBLE_EQ(steps[1].strength, -0.5);
  auto one = rt.apply(x, torch::full({6}, int64_t(1), torch::kLong), torch::ones({6}));
  auto two = rt.apply(one, torch::full({6}, int64_t(4), torch::kLong), torch::full({6}, -0.5f));
  auto chained = rt.apply_recipe(x, steps);
  EXPECT_TRUE(torch::allclose(chained, two, 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(chained, one, 1e-5, 1e-5));  // the second step did something
  // A row's result does not depend on the other rows of its batch.
  auto alone = rt.apply_recipe(x.slice(0, 3, 4), steps);
  EXPECT_TRUE(torch::allclose(alone, chained.slice(0, 3, 4), 1e-6, 1e-6));
}

TEST(EditorRuntime, ClearErrors) {
  // Saved before editor.h5 stored the normalisation: the classifier is needed, and the message says so.
  try {
    EditorRuntime rt(fixture("lt"));
    FAIL() << "loaded without its classifier";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--classifier"), std::string::npos) << e.what();
  }
  EditorRuntime rt(fixture("lt"), fixture("classifier.pt"));
  auto expect_usage = [&](const std::vector<std::string>& recipe, const std::string& needle) {
    try {
      rt.parse_recipe(recipe);
      ADD_FAILURE() << "accepted " << recipe[0];
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_usage({"smile=1"}, "attr_00");  // lists the attributes it has
  expect_usage({"attr_00"}, "NAME=STRENGTH");
  expect_usage({"attr_00=strong"}, "not a number");
  expect_usage({"attr_00=1.5x"}, "not a number");

  // An editor that records its classifier's SHA-256 refuses another classifier.
  test::TempDir dir("editor_runtime");
  fs::copy(fixture("lt"), dir / "lt");
  {
    H5Id f(H5Fopen((dir / "lt/editor.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(f.get(), 0);
    const std::string wrong(64, 'a');
    H5Id type(H5Tcopy(H5T_C_S1));
    H5Tset_size(type.get(), wrong.size());
    H5Id space(H5Screate(H5S_SCALAR));
    if (H5Aexists(f.get(), "classifier_sha256") > 0) H5Adelete(f.get(), "classifier_sha256");
    H5Id attr(H5Acreate2(f.get(), "classifier_sha256", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    H5Awrite(attr.get(), type.get(), wrong.data());
  }
  try {
    EditorRuntime other(dir / "lt", fixture("classifier.pt"));
    FAIL() << "accepted a classifier of another hash";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(std::string(64, 'a')), std::string::npos) << e.what();
  }
}
