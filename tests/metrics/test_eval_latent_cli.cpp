// edit --protocol flip-each + eval-latent (the judge) end to end on a tiny synthetic world, and the ground-truth
// file against the generator's model: least-squares coordinates of x - mean give back the true strengths, and the
// identity component is recovered.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/test_util.h"
#include "metrics/latent_metrics.h"
#include "metrics/synth_truth.h"
#include "store/latent_store.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

const char* k_world =
    "--set synth.num_samples=300 --set synth.layers=4 --set synth.channels=32 --set synth.num_attributes=6 "
    "--set synth.edit_layers=0-2 --set synth.num_regions=3";

std::string synth_world(const test::TempDir& dir) {
  std::string d = dir.path().string();
  auto r = test::run_s3editor("synth " + std::string(k_world) + " --out " + d + "/world.h5 --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return d;
}

// A classifier (c1.pt) with `classifier_args`, then the linear editor (one step: its directions come from the
// classifier) in d/editor.
void train_linear_editor(const std::string& d, const std::string& classifier_args) {
  auto r = test::run_s3editor("train-classifier --store " + d + "/world.h5 --out " + d + "/c1.pt --run-dir " + d +
                              "/run " + classifier_args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("train --store " + d + "/world.h5 --classifier " + d + "/c1.pt --out " + d + "/editor --run-dir " +
                         d + "/run --set editor.transform=linear --set editor.heldout_attributes=5 "
                         "--set editor.edit_layers=0-2 --set train.steps=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace

TEST(EvalLatentCli, TruthFileMatchesTheGenerator) {
  test::TempDir dir("metrics_truth");
  std::string d = synth_world(dir);
  LatentStore store(d + "/world.h5");
  auto truth_path = synth_truth_path_for(store, "");
  ASSERT_EQ(truth_path, fs::path(d) / "world.truth.h5");
  SynthTruth t = synth_truth_load(truth_path);
  EXPECT_EQ(t.attribute_scale, 3.0);  // the documented defaults, read from the file's config_ini
  EXPECT_EQ(t.label_threshold, 0.0);
  EXPECT_EQ(t.attribute_names, store.attribute_names());
  const int64_t n = 50, D = store.latent_dim(), A = store.num_attributes();
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i;
  auto x = torch::empty({n, D}), s = torch::empty({n, A}), id = torch::empty({n, D});
  store.read_latents(rows, x.data_ptr<float>());
  LatentStore truth_store(truth_path, "s3editor.synth_truth");
  truth_store.read_rows_f32("strengths", rows, s.data_ptr<float>());
  truth_store.read_rows_f32("identity", rows, id.data_ptr<float>());
  // x = mean + 3 sum_a s_a d_a + identity + N(0, 0.05^2): coordinates are off by the noise's projection only.
  auto recovered = truth_strength_delta(t, x - t.mean);
  EXPECT_LT((recovered - s).abs().max().item<float>(), 0.1);
  auto cos = torch::cosine_similarity(truth_identity(t, x), id, 1);
  EXPECT_GT(cos.min().item<float>(), 0.99);
}

TEST(EvalLatentCli, LinearEditSucceedsOnSeenAndUnseenAttributes) {
  test::TempDir dir("metrics_e2e");
  std::string d = synth_world(dir);
  ASSERT_NO_FATAL_FAILURE(
      train_linear_editor(d, "--set classifier.steps=300 --set classifier.hidden1=64 --set classifier.hidden2=32"));
  auto edit = [&](const std::string& name, const std::string& strength) {
    auto e = test::run_s3editor("edit --store " + d + "/world.h5 --editor " + d + "/editor --protocol flip-each "
                                "--rows heldout --strength " + strength + " --out " + d + "/" + name + ".h5 --run-dir " +
                                d + "/edit_" + name);
    EXPECT_EQ(e.exit_code, 0) << e.output;
  };
  edit("edited", "1");
  // The source store and the classifier come from what the edited store names.
  auto r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --out " + d + "/eval/metrics.json --run-dir " +
                              d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("locality"), std::string::npos) << r.output;  // the table
  auto j = nlohmann::json::parse(test::read_file(dir / "eval/metrics.json"));
  EXPECT_EQ(j["schema"], "s3editor.latent_metrics");
  EXPECT_EQ(j["judged_by"], "ground truth");
  EXPECT_EQ(j["rows"]["first"], 270);  // the last 10 %: rows the trainer did not train on
  EXPECT_EQ(j["rows"]["count"], 30);
  EXPECT_EQ(j["inputs"]["store"], d + "/world.h5");
  EXPECT_EQ(j["summary"]["seen"]["attributes"], 5);
  EXPECT_EQ(j["summary"]["unseen"]["attributes"], 1);
  EXPECT_EQ(j["attributes"].size(), 6u);
  // The linear edit moves along the classifier's gradient, which in this easy world points along d_a.
  double seen = j["summary"]["seen"]["success"], unseen = j["summary"]["unseen"]["success"];
  EXPECT_GT(seen, 0.7) << j.dump(2);  // measured 0.82 (a null edit scores 0)
  EXPECT_GT(unseen, 0.6) << j.dump(2);  // measured 0.87
  double locality = j["summary"]["seen"]["locality"], identity = j["summary"]["seen"]["identity"];
  EXPECT_GT(locality, 1.0 / 3);  // better than spreading the edit evenly over the 3 regions
  EXPECT_GT(identity, 0.5);
  EXPECT_LE(identity, 1.0 + 1e-6);
  for (auto& a : j["attributes"]) EXPECT_EQ(a["samples"], 30);
  auto csv = test::read_file(dir / "eval/metrics.csv");
  EXPECT_NE(csv.find("seen_success"), std::string::npos);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);

  // A tenth of the strength flips fewer samples: success measures the edit, not the split.
  edit("weak", "0.1");
  r = test::run_s3editor("eval-latent --edited " + d + "/weak.h5 --out " + d + "/eval/weak.json --run-dir " + d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto weak = nlohmann::json::parse(test::read_file(dir / "eval/weak.json"));
  EXPECT_LT(double(weak["summary"]["seen"]["success"]), seen - 0.3) << weak.dump(2);
  EXPECT_LT(double(weak["summary"]["seen"]["drift"]), double(j["summary"]["seen"]["drift"]));

  // The editor's own classifier is refused as judge (circular).
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --judge " + d + "/c1.pt --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("circular"), std::string::npos) << r.output;

  // A second classifier (another seed) judges; its metrics appear beside the ground truth's.
  r = test::run_s3editor("train-classifier --store " + d + "/world.h5 --out " + d + "/c2.pt --run-dir " + d +
                         "/run2 --seed 7 --set classifier.steps=300 --set classifier.hidden1=64 --set classifier.hidden2=32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --judge " + d + "/c2.pt --out " + d +
                         "/eval/judged.json --run-dir " + d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto jj = nlohmann::json::parse(test::read_file(dir / "eval/judged.json"));
  double judged = jj["summary"]["seen"]["judge_success"];
  EXPECT_GT(judged, 0.7) << jj.dump(2);
  EXPECT_TRUE(jj["summary"]["seen"].contains("classifier_success_circular"));

  // A classifier other than the one the editor was trained with is refused (the edited store records its hash).
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --classifier " + d + "/c2.pt --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("SHA-256"), std::string::npos) << r.output;
}

TEST(EvalLatentCli, StoreWithoutTruthNeedsAJudge) {
  test::TempDir dir("metrics_notruth");
  std::string d = synth_world(dir);
  ASSERT_NO_FATAL_FAILURE(
      train_linear_editor(d, "--set classifier.steps=20 --set classifier.hidden1=16 --set classifier.hidden2=8"));
  auto r = test::run_s3editor("edit --store " + d + "/world.h5 --editor " + d + "/editor --protocol flip-each --rows heldout "
                         "--out " + d + "/edited.h5 --run-dir " + d + "/edit");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A recipe's store has no flip direction to judge: a usage error that says what eval-latent judges.
  r = test::run_s3editor("edit --store " + d + "/world.h5 --editor " + d + "/editor --edit attr_00=1 --out " + d +
                         "/recipe.h5 --run-dir " + d + "/recipe");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("eval-latent --edited " + d + "/recipe.h5 --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("flip-each"), std::string::npos) << r.output;
  // Hide the ground truth: the store names a truth file that is gone -> a data error naming it.
  fs::rename(dir / "world.truth.h5", dir / "hidden.h5");
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("world.truth.h5"), std::string::npos) << r.output;
  // An imported store (no truth_file) without --judge is a usage error that explains the circularity rule.
  r = test::run_s3editor("export-npy " + d + "/world.h5 --out-dir " + d + "/npy --run-dir " + d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("import-npy --latents " + d + "/npy/latents.npy --labels " + d + "/npy/labels.npy --out " + d +
                         "/imported.h5 --run-dir " + d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --store " + d + "/imported.h5 --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--judge"), std::string::npos) << r.output;
}

TEST(EvalLatentCli, CircularSuccessLeavesOutHeadsTheClassifierDidNotTrain) {
  // c1 leaves attribute 5 out of its loss (its head stays random); c2 (another seed) trains every head and gives
  // the held-out attribute 5 its embedding. The circular success reads c1's heads, so attribute 5 has none; the
  // ground-truth metrics are measured for every attribute as before.
  test::TempDir dir("metrics_untrained_head");
  std::string d = synth_world(dir);
  const std::string small = " --set classifier.steps=20 --set classifier.hidden1=16 --set classifier.hidden2=8";
  auto r = test::run_s3editor("train-classifier --store " + d + "/world.h5 --out " + d + "/c1.pt --run-dir " + d +
                              "/run --set classifier.ignore_attributes=5" + small);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("train-classifier --store " + d + "/world.h5 --out " + d + "/c2.pt --run-dir " + d +
                         "/run2 --seed 7" + small);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("train --store " + d + "/world.h5 --classifier " + d + "/c1.pt --out " + d + "/editor --run-dir " +
                         d + "/run --set editor.transform=linear --set editor.heldout_attributes=5 "
                         "--set editor.edit_layers=0-2 --set train.steps=1 --set editor.embedding_classifier=" + d +
                         "/c2.pt --set editor.embedding_attributes=5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("edit --store " + d + "/world.h5 --editor " + d + "/editor --protocol flip-each --rows heldout "
                         "--out " + d + "/edited.h5 --run-dir " + d + "/edit");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_s3editor("eval-latent --edited " + d + "/edited.h5 --out " + d + "/eval/metrics.json --run-dir " + d +
                         "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("did not train"), std::string::npos) << r.output;
  auto j = nlohmann::json::parse(test::read_file(dir / "eval/metrics.json"));
  ASSERT_EQ(j["attributes"].size(), 6u);
  double seen_sum = 0;
  for (auto& a : j["attributes"]) {
    EXPECT_TRUE(a["success"].is_number()) << a.dump();  // ground truth: every attribute
    EXPECT_EQ(a["samples"], 30);
    if (a["index"] == 5) {
      EXPECT_EQ(a["split"], "unseen");
      EXPECT_TRUE(a["classifier_success_circular"].is_null()) << a.dump();
    } else {
      ASSERT_TRUE(a["classifier_success_circular"].is_number()) << a.dump();
      seen_sum += double(a["classifier_success_circular"]);
    }
  }
  // The averages are over trained heads only: attribute 5 is the only unseen one, so there is none.
  EXPECT_TRUE(j["summary"]["unseen"]["classifier_success_circular"].is_null()) << j["summary"].dump(2);
  EXPECT_TRUE(j["summary"]["unseen"]["success"].is_number());
  EXPECT_NEAR(double(j["summary"]["seen"]["classifier_success_circular"]), seen_sum / 5, 1e-12);
}
