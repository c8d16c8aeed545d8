// The store subcommands end to end: import-npy / export-npy / inspect, exit codes and messages for bad input,
// nothing partial left under a final name.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/test_util.h"
#include "store/latent_store.h"

using namespace s3e;
namespace fs = std::filesystem;

namespace {

void python_ok(const std::string& code) {
  auto r = test::run_python("import numpy as np\n" + code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

void expect_no_final_outputs(const fs::path& dir) {
  if (!fs::exists(dir)) return;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    EXPECT_FALSE(name.size() > 3 && name.substr(name.size() - 3) == ".h5") << "partial output left: " << e.path();
  }
}

}  // namespace

TEST(StoreCli, ImportExportRoundTripMatchesNumpy) {
  test::TempDir dir("cli_import");
  std::string d = dir.path().string();
  python_ok("rng=np.random.default_rng(0)\n"
            "np.save('" + d + "/lat.npy', rng.standard_normal((37,18,512)).astype('>f8'))\n"
            "np.save('" + d + "/lab.npy', (rng.random((37,40))>0.5))\n");
  auto r = test::run_s3editor("import-npy --latents " + d + "/lat.npy --labels " + d + "/lab.npy --run-dir " + d +
                              "/run --set store.chunk_kib=100");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "run/import-npy.config.ini"));
  EXPECT_TRUE(fs::exists(dir / "run/logs/import-npy.rank00000.log"));
  LatentStore s(dir / "run/store/imported.h5");
  EXPECT_EQ(s.size(), 37);
  EXPECT_EQ(s.attribute_names()[31], "Smiling");
  r = test::run_s3editor("export-npy " + d + "/run/store/imported.h5 --out-dir " + d + "/exp --run-dir " + d + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  python_ok("a=np.load('" + d + "/lat.npy'); b=np.load('" + d + "/exp/latents.npy')\n"
            "assert b.dtype==np.float32 and b.shape==a.shape\n"
            "assert np.array_equal(a.astype(np.float32), b)\n"
            "assert np.array_equal(np.load('" + d + "/lab.npy').astype(np.float32), np.load('" + d + "/exp/labels.npy'))\n"
            "assert open('" + d + "/exp/attributes.txt').read().split()[31]=='Smiling'\n");
  // A second run with the same inputs resumes (does nothing); --fresh redoes it.
  r = test::run_s3editor("import-npy --latents " + d + "/lat.npy --labels " + d + "/lab.npy --run-dir " + d +
                         "/run --set store.chunk_kib=100");
  EXPECT_NE(r.output.find("already complete"), std::string::npos) << r.output;
  r = test::run_s3editor("import-npy --latents " + d + "/lat.npy --labels " + d + "/lab.npy --run-dir " + d +
                         "/run --set store.chunk_kib=100 --fresh");
  EXPECT_EQ(r.output.find("already complete"), std::string::npos) << r.output;
  EXPECT_EQ(r.exit_code, 0);
  r = test::run_s3editor("inspect --json " + d + "/run/store/imported.h5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"num_samples\": 37"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"latents_nan\": 0"), std::string::npos) << r.output;
}

TEST(StoreCli, BadInputsExitWithCodeAndMessageAndLeaveNothing) {
  test::TempDir dir("cli_bad");
  std::string d = dir.path().string();
  python_ok("d='" + d + "'\n"
            "np.save(d+'/lat.npy', np.zeros((10,4,8),'<f4'))\n"
            "np.save(d+'/lab9.npy', np.zeros((9,40),'<f4'))\n"
            "x=np.zeros((10,4,8),'<f4'); x[7,1,2]=np.nan; np.save(d+'/nan.npy', x)\n"
            "np.save(d+'/lab1d.npy', np.zeros(10,'<f4'))\n"
            "np.save(d+'/int32.npy', np.zeros((10,4),'<i4'))\n"
            "b=open(d+'/lat.npy','rb').read(); open(d+'/trunc.npy','wb').write(b[:200])\n");
  struct Case {
    std::string args;
    int code;
    std::string fragment;
  };
  std::vector<Case> cases = {
      {"--latents " + d + "/missing.npy", 3, "missing.npy: cannot be opened"},
      {"--latents " + d + "/trunc.npy", 3, "truncated"},
      {"--latents " + d + "/nan.npy", 3, "nan.npy: row 7 holds NaN"},
      {"--latents " + d + "/lat.npy --labels " + d + "/lab9.npy", 3, "has 9 rows but"},
      {"--latents " + d + "/lat.npy --labels " + d + "/lab1d.npy", 3, "labels must be 2-D"},
      {"--latents " + d + "/int32.npy", 3, "dtype '<i4' is not supported"},
      {"--latents " + d + "/lat.npy --set store.chunk_kib=0", 2, "store.chunk_kib"},
      {"--latents " + d + "/lat.npy --set store.chunk_kb=10", 2, "unknown config key 'store.chunk_kb'"},
      {"--latents " + d + "/lat.npy --bogus-flag", 2, "bogus-flag"},
      {"", 2, "latents"},
      {"--latents " + d + "/lat.npy --out /proc/forbidden/x.h5", 2, "/proc/forbidden"},
  };
  for (auto& c : cases) {
    auto r = test::run_s3editor("import-npy " + c.args + " --run-dir " + d + "/run");
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.fragment), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find("error on rank 0 (import-npy)"), std::string::npos) << r.output;
    expect_no_final_outputs(dir / "run/store");
  }
  auto r = test::run_s3editor("inspect " + d + "/lat.npy");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("not an HDF5 file"), std::string::npos) << r.output;
  r = test::run_s3editor("no-such-subcommand");
  EXPECT_EQ(r.exit_code, 2);
  r = test::run_s3editor("synth --set synth.edit_layers=0-30 --run-dir " + d + "/run");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("layer 18 is outside"), std::string::npos) << r.output;
}

TEST(StoreCli, HelpListsConfigKeys) {
  auto r = test::run_s3editor("synth --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("synth.pair_correlation"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--run-dir"), std::string::npos);
  r = test::run_s3editor("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("import-npy"), std::string::npos);
}
