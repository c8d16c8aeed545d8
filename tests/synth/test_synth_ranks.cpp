// synth under mpiexec at 2 and 4 ranks (launched as child jobs: mpiexec cannot nest) must give the same data,
// read through the virtual index, as a single process; byte-identical files when repeated at the same rank count;
// and resume instead of regenerating.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/test_util.h"
#include "store/latent_store.h"
#include "store/store_schema.h"

using namespace s3e;
namespace fs = std::filesystem;

class SynthDeterminism : public ::testing::TestWithParam<int> {};

TEST_P(SynthDeterminism, SameDataAtAnyRankCountAndSameBytesWhenRepeated) {
  const int ranks = GetParam();
  test::TempDir dir("synth_det");
  std::string d = dir.path().string();
  std::string args = "synth --set synth.num_samples=60 --set synth.frames_per_video=3 --set synth.channels=64 "
                     "--set synth.num_attributes=10 --seed 7";
  auto run_at = [&](int n, const std::string& name) {
    auto r = test::run_s3editor_mpi(n, args + " --run-dir " + d + "/" + name);
    ASSERT_EQ(r.exit_code, 0) << n << " ranks:\n" << r.output;
  };
  run_at(1, "one");
  run_at(ranks, "many_a");
  run_at(ranks, "many_b");
  for (const char* file : {"synth.h5", "synth.truth.h5"}) {
    LatentStore one(dir / "one/store" / file, std::string(file) == "synth.h5" ? k_store_schema : k_truth_schema);
    LatentStore many(dir / "many_a/store" / file, std::string(file) == "synth.h5" ? k_store_schema : k_truth_schema);
    ASSERT_EQ(one.size(), 180);
    ASSERT_EQ(many.size(), 180);
    const std::string column = std::string(file) == "synth.h5" ? "latents" : "identity";
    std::vector<float> a(180 * 18 * 64), b(a.size());
    one.read_range_f32(column, 0, 180, a.data());
    many.read_range_f32(column, 0, 180, b.data());
    EXPECT_EQ(a, b) << file << " differs between 1 and " << ranks << " ranks";
  }
  for (auto& e : fs::directory_iterator(dir / "many_a/store")) {
    fs::path twin = dir / "many_b/store" / e.path().filename();
    EXPECT_EQ(test::sha256_of(e.path()), test::sha256_of(twin)) << e.path().filename() << " is not reproducible";
  }
  // A rerun on the same folder resumes: nothing is rewritten.
  auto before = fs::last_write_time(dir / "many_a/store/synth.h5");
  run_at(ranks, "many_a");
  EXPECT_EQ(before, fs::last_write_time(dir / "many_a/store/synth.h5"));
}

INSTANTIATE_TEST_SUITE_P(Ranks, SynthDeterminism, ::testing::Values(2, 4));

// The honest preset: the same data at 1 and 2 ranks, byte-identical files when repeated at 2.
TEST(SynthDeterminismHonest, SameDataAtOneAndTwoRanks) {
  test::TempDir dir("synth_det_honest");
  std::string d = dir.path().string();
  std::string args = "synth --set synth.preset=honest --set synth.num_samples=40 --set synth.frames_per_video=2 "
                     "--set synth.channels=64 --set synth.num_attributes=40 --set synth.region_dims=16 --seed 7";
  for (auto [n, name] : {std::pair<int, const char*>{1, "one"}, {2, "two_a"}, {2, "two_b"}}) {
    auto r = test::run_s3editor_mpi(n, args + " --run-dir " + d + "/" + name);
    ASSERT_EQ(r.exit_code, 0) << n << " ranks:\n" << r.output;
  }
  for (const char* file : {"synth.h5", "synth.truth.h5"}) {
    const bool data = std::string(file) == "synth.h5";
    LatentStore one(dir / "one/store" / file, data ? k_store_schema : k_truth_schema);
    LatentStore two(dir / "two_a/store" / file, data ? k_store_schema : k_truth_schema);
    ASSERT_EQ(one.size(), 80);
    ASSERT_EQ(two.size(), 80);
    for (const char* column : {data ? "latents" : "identity", data ? "labels" : "strengths"}) {
      const int64_t width = std::string(column) == "latents" || std::string(column) == "identity" ? 18 * 64 : 40;
      std::vector<float> a(80 * width), b(a.size());
      one.read_range_f32(column, 0, 80, a.data());
      two.read_range_f32(column, 0, 80, b.data());
      EXPECT_EQ(a, b) << file << " " << column << " differs between 1 and 2 ranks";
    }
  }
  for (auto& e : fs::directory_iterator(dir / "two_a/store")) {
    fs::path twin = dir / "two_b/store" / e.path().filename();
    EXPECT_EQ(test::sha256_of(e.path()), test::sha256_of(twin)) << e.path().filename() << " is not reproducible";
  }
}
