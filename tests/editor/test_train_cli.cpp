// The trainers end to end through the s3editor binary on a tiny synthetic world: data-parallel equivalence
// (2 ranks x 16 = 1 rank x 32, within 1e-5 relative), exact resume after an interruption, resume on fewer ranks
// with a fixed global batch, the trainer never needs the ground-truth file, and bad inputs are clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "common/test_util.h"
#include "editor/editor_io.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("train_cli");
    std::string d = dir_->path().string();
    run("synth --run-dir " + d + " --set synth.num_samples=400 --set synth.layers=4 --set synth.channels=32 "
        "--set synth.edit_layers=0-2 --set synth.num_attributes=6 --set synth.num_regions=3 --seed 3");
    // The trainer gets the data file alone: move the ground truth out of its reach.
    fs::rename(dir_->path() / "store/synth.truth.h5", dir_->path() / "truth_moved.h5");
    run("train-classifier --store " + d + "/store/synth.h5 --run-dir " + d + " --set classifier.steps=150 "
        "--set classifier.hidden1=64 --set classifier.hidden2=32 --set classifier.batch_size=64");
  }
  static void TearDownTestSuite() { delete dir_; }
  static void run(const std::string& args, int ranks = 1, int expect = 0) {
    auto r = ranks == 1 ? test::run_s3editor(args) : test::run_s3editor_mpi(ranks, args);
    ASSERT_EQ(r.exit_code, expect) << args << "\n" << r.output;
  }
  static std::string train_args(const std::string& run_dir, int batch) {
    std::string d = dir_->path().string();
    return "train --store " + d + "/store/synth.h5 --classifier " + d + "/classifier/classifier.pt --run-dir " +
           run_dir + " --set editor.edit_layers=0-2 --set editor.hidden_total=48 --set editor.clusters=2 "
           "--set train.steps=30 --set train.checkpoint_every=10 --set train.batch_size=" + std::to_string(batch) +
           " --set sparsity.start_step=5 --set sparsity.period_steps=5 --set sparsity.periods=2 "
           "--set loss.identity=1 --set loss.cycle=1 --set train.lr=1e-3 --log-level warn";
  }
  static std::vector<torch::Tensor> weights(const std::string& run_dir) {
    return editor_load(fs::path(run_dir) / "editor").model->parameters();
  }
  static test::TempDir* dir_;
};
test::TempDir* TrainCli::dir_ = nullptr;

}  // namespace

TEST_F(TrainCli, TwoRanksMatchOneRankWithTheSameGlobalBatch) {
  std::string one = (dir_->path() / "one").string(), two = (dir_->path() / "two").string();
  run(train_args(one, 32), 1);
  run(train_args(two, 16), 2);
  auto a = weights(one), b = weights(two);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    double rel = (a[i] - b[i]).norm().item<double>() / std::max(1e-12, a[i].norm().item<double>());
    EXPECT_LT(rel, 1e-5) << "parameter " << i;
  }
  // Pruning happened and chose the same groups.
  auto ea = editor_load(fs::path(one) / "editor"), eb = editor_load(fs::path(two) / "editor");
  EXPECT_TRUE(torch::equal(ea.model->group_mask, eb.model->group_mask));
  EXPECT_GT((ea.model->group_mask == 0).sum().item<int64_t>(), 0);
  // The default region_mlp editor refines the linear edit, and its file says so.
  EXPECT_TRUE(ea.model->refines());
  EXPECT_TRUE(eb.model->refines());
}

TEST_F(TrainCli, InterruptedRunResumesToBitIdenticalWeights) {
  std::string full = (dir_->path() / "full").string(), cut = (dir_->path() / "cut").string();
  run(train_args(full, 16), 2);
  // Stopped after step 20 as if preempted: exit code 75 (requeue), checkpoint kept, no editor yet.
  run(train_args(cut, 16) + " --set train.stop_after_step=20", 2, 75);
  EXPECT_FALSE(fs::exists(fs::path(cut) / "editor/editor_weights.pt"));
  EXPECT_TRUE(fs::exists(fs::path(cut) / "checkpoints/train/step_00000020/MANIFEST.json"));
  run(train_args(cut, 16), 2);
  auto a = weights(full), b = weights(cut);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  // The training log covers every step once.
  auto log = test::read_file(fs::path(cut) / "logs/train.jsonl");
  EXPECT_NE(log.find("\"step\": 20,"), std::string::npos);
  EXPECT_EQ(log.find("\"step\": 20,"), log.rfind("\"step\": 20,"));
}

// A requeued job given fewer ranks (SLURM may restart it on a smaller allocation): with train.global_batch_size the
// per-rank batch follows the rank count, the 2-rank checkpoint resumes on 1 rank, and the weights end within 1e-5 of
// a run that had 1 rank all along. Without it, the other rank count is refused (exit 2), not silently resumed.
TEST_F(TrainCli, RequeueOnFewerRanksResumesWithAFixedGlobalBatch) {
  std::string one = (dir_->path() / "gb_one").string(), cut = (dir_->path() / "gb_cut").string();
  const std::string global = " --set train.global_batch_size=32";
  run(train_args(one, 7) + global, 1);
  run(train_args(cut, 7) + global + " --set train.stop_after_step=20", 2, 75);
  auto refused = test::run_s3editor(train_args(cut, 16));
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("written by 2 ranks, this job has 1"), std::string::npos) << refused.output;
  run(train_args(cut, 7) + global, 1);
  auto a = weights(one), b = weights(cut);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    double rel = (a[i] - b[i]).norm().item<double>() / std::max(1e-12, a[i].norm().item<double>());
    EXPECT_LT(rel, 1e-5) << "parameter " << i;
  }
  auto log = test::read_file(fs::path(cut) / "logs/train.jsonl");
  EXPECT_EQ(log.find("\"step\": 20,"), log.rfind("\"step\": 20,"));
  EXPECT_NE(log.find("\"step\": 30,"), std::string::npos);
  // A global batch the ranks cannot share evenly is a usage error naming the key.
  auto odd = test::run_s3editor_mpi(2, train_args(dir_->path().string() + "/gb_odd", 7) + " --set train.global_batch_size=33");
  EXPECT_EQ(odd.exit_code, 2) << odd.output;
  EXPECT_NE(odd.output.find("train.global_batch_size = 33 is not a multiple of the 2 ranks"), std::string::npos)
      << odd.output;
}

// Latent Transformer's protocol (train.schedule = auto -> per_attribute for lt_linear): the steps are split into one
// phase per training attribute, each phase edits its attribute only and steps an Adam of its own over that
// attribute's transform. Between the checkpoints that close phase 0 (step 5) and phase 1 (step 10), exactly one
// transform moves and every other parameter stays bit for bit (a shared Adam with weight decay would move them all);
// a run stopped mid-phase resumes to the weights of an uninterrupted one, bit for bit.
TEST_F(TrainCli, PerAttributeScheduleTrainsOneTransformPerPhaseAndResumesExactly) {
  std::string full = (dir_->path() / "lt_full").string(), cut = (dir_->path() / "lt_cut").string();
  const std::string lt = " --set editor.transform=lt_linear --set editor.clusters=0 --set train.checkpoint_every=5";
  run(train_args(full, 16) + lt, 1);
  run(train_args(cut, 16) + lt + " --set train.stop_after_step=12", 1, 75);
  auto at = [&](int step) {
    return editor_load(fs::path(cut) / "checkpoints/train" / fmt::format("step_{:08d}", step) / "editor").model->parameters();
  };
  auto p5 = at(5), p10 = at(10);
  ASSERT_EQ(p5.size(), p10.size());
  ASSERT_EQ(p5.size() % 2, 0u);  // lt{k}_weight, lt{k}_bias for each transform
  int moved = 0;
  for (size_t k = 0; k < p5.size() / 2; ++k) {
    const bool same = torch::equal(p5[2 * k], p10[2 * k]) && torch::equal(p5[2 * k + 1], p10[2 * k + 1]);
    moved += same ? 0 : 1;
  }
  EXPECT_EQ(moved, 1) << "transforms that changed during phase 1";
  EXPECT_GE(p5.size() / 2, 5u);
  run(train_args(cut, 16) + lt, 1);
  auto a = weights(full), b = weights(cut);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  // Per attribute needs one transform per attribute.
  auto r = test::run_s3editor(train_args(dir_->path().string() + "/lt_bad", 16) + " --set train.schedule=per_attribute");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("train.schedule = per_attribute needs one transform per attribute"), std::string::npos)
      << r.output;
}

TEST_F(TrainCli, BadInputsAreClearErrors) {
  std::string d = dir_->path().string();
  auto r = test::run_s3editor("train --store " + d + "/store/synth.h5 --classifier " + d + "/nope.pt --run-dir " + d + "/bad");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("nope.pt: classifier file not found"), std::string::npos) << r.output;
  r = test::run_s3editor("train --store " + d + "/truth_moved.h5 --classifier " + d + "/classifier/classifier.pt --run-dir " + d + "/bad");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("schema is 's3editor.synth_truth'"), std::string::npos) << r.output;
  r = test::run_s3editor(train_args(d + "/bad", 16) + " --set editor.transform=lt_linear");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("editor.clusters = 0"), std::string::npos) << r.output;
  r = test::run_s3editor(train_args(d + "/bad", 16) + " --set editor.linear_scale=huge");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("editor.linear_scale"), std::string::npos) << r.output;
}

// Preemption as SLURM does it: SIGTERM to the rank processes mid-run. The ranks agree on the flag at the next step,
// write a checkpoint and exit 75 within seconds; the rerun resumes and ends with the uninterrupted run's weights.
TEST_F(TrainCli, SigtermCheckpointsExits75AndResumesToBitIdenticalWeights) {
  std::string full = (dir_->path() / "sig_full").string(), cut = (dir_->path() / "sig_cut").string();
  const std::string longer = " --set train.steps=400 --set train.checkpoint_every=50";
  run(train_args(full, 16) + longer, 2);
  auto r = test::run_command(std::string("bash ") + S3E_SOURCE_DIR + "/tests/common/signal_ranks.sh 2 " + cut +
                             "/checkpoints/train/step_00000050 TERM " + S3E_BINARY + " " + train_args(cut, 16) +
                             longer + " 2>&1");
  ASSERT_NE(r.output.find("signal_ranks: exit=75 after="), std::string::npos) << r.output;
  double after = std::stod(r.output.substr(r.output.find("after=") + 6));
  EXPECT_LT(after, 10.0) << r.output;
  EXPECT_NE(r.output.find("stopped by SIGTERM after step"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(fs::path(cut) / "editor/editor_weights.pt"));
  // The signal came after step 50's checkpoint was published, so the stop wrote a later one of its own.
  auto latest = test::read_file(fs::path(cut) / "checkpoints/train/latest");
  ASSERT_EQ(latest.rfind("step_", 0), 0u) << latest;
  EXPECT_GT(std::stoi(latest.substr(5)), 50) << latest;
  run(train_args(cut, 16) + longer, 2);
  auto a = weights(full), b = weights(cut);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}
