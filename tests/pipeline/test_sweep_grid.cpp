// The sweep's grid file, expansion, point settings, metrics reading, mean/std over seeds and the SLURM script
// (pipeline/sweep_grid.h, sweep_aggregate.h, sweep_slurm.h), without running any stage.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/errors.h"
#include "pipeline/sweep_aggregate.h"
#include "pipeline/sweep_grid.h"
#include "pipeline/sweep_slurm.h"

namespace fs = std::filesystem;
using namespace s3e;

namespace {

SweepSchemas schemas() {
  SweepSchemas s;
  s.common.add_int("run.seed", 1234, "seed").add_text("run.root", "runs", "root").add_int("run.threads", 1, "t", 1, 256);
  for (auto k : {"io.store", "io.classifier", "io.editor", "io.edited", "io.metrics", "io.judge"})
    s.common.add_text(k, "", "file");
  s.stages["synth"].add_int("synth.num_samples", 100, "rows", 1, 1e9);
  s.stages["train"]
      .add_int("editor.clusters", 5, "K", 0, 1000)
      .add_real("sparsity.rate", 0.1, "rate", 0, 0.95)
      .add_bool("self_train.enabled", true, "self-training")
      .add_int("train.steps", 100, "steps", 1, 1e9)
      .add_text("editor.edit_layers", "0-4", "layers");
  s.stages["eval-latent"];
  s.stages["report"].add_int("report.frames", 4, "frames");
  return s;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "s3e_sweep_grid.XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

const char* k_base = "[run]\nseed = 7\nroot = runs/chain\n[io]\nstore = runs/chain/world.h5\n"
                     "metrics = runs/chain/eval/metrics.json\njudge = /data/judge.pt\n[synth]\nnum_samples = 50\n";

std::string grid_text(const std::string& axes, const std::string& extra = "") {
  return "[sweep]\nbase = base.ini\nstages = synth, train, eval-latent\n[axes]\n" + axes + extra;
}

// The UsageError's message for a grid text (empty when it loads).
std::string load_error(const TempDir& dir, const std::string& text) {
  auto file = dir.write("grid.ini", text);
  try {
    sweep_grid_load(file, schemas());
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SweepGrid, ExpandsInFileOrderWithTheSeedFastest) {
  TempDir dir;
  dir.write("base.ini", k_base);
  auto file = dir.write("grid.ini", grid_text("run.seed = 1, 2\neditor.clusters = 2, 5\nsparsity.rate = 0, 0.1\n"
                                              "self_train.enabled = true, false\n"));
  SweepGrid grid = sweep_grid_load(file, schemas());
  EXPECT_EQ(grid.metrics, "eval/metrics.json");  // the base's io.metrics, relocated into the point
  EXPECT_EQ(grid.base, fs::absolute(dir.path / "base.ini").lexically_normal());
  auto points = sweep_grid_expand(grid);
  ASSERT_EQ(points.size(), 16u);
  EXPECT_EQ(points[0].name, "clusters-2_rate-0_self_train-on_seed-1");
  EXPECT_EQ(points[1].name, "clusters-2_rate-0_self_train-on_seed-2");
  EXPECT_EQ(points[2].name, "clusters-2_rate-0_self_train-off_seed-1");
  EXPECT_EQ(points[4].name, "clusters-2_rate-0.1_self_train-on_seed-1");
  EXPECT_EQ(points[15].name, "clusters-5_rate-0.1_self_train-off_seed-2");
  EXPECT_EQ(points[15].param("editor.clusters"), "5");
  EXPECT_EQ(points[15].param("self_train.enabled"), "false");
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].index, int(i));
  // Stable: the same grid expands to the same names.
  auto again = sweep_grid_expand(sweep_grid_load(file, schemas()));
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(again[i].name, points[i].name);
}

TEST(SweepGrid, ShortNamesQuotingAndCollisions) {
  TempDir dir;
  dir.write("base.ini", k_base);
  auto file = dir.write("grid.ini", grid_text("editor.edit_layers = \"0-3,8\", 0-4\ntrain.steps = 10\n"));
  auto points = sweep_grid_expand(sweep_grid_load(file, schemas()));
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].param("editor.edit_layers"), "0-3,8");
  EXPECT_EQ(points[0].name, "edit_layers-0-3-8_steps-10");
  // Values that differ only in characters a folder name cannot keep collide: refused, naming both points.
  std::string error = load_error(dir, grid_text("editor.edit_layers = a/b, a_b\n"));
  EXPECT_EQ(error, "");
  SweepGrid grid = sweep_grid_load(dir.path / "grid.ini", schemas());
  try {
    sweep_grid_expand(grid);
    FAIL() << "no collision reported";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("edit_layers-a-b"), std::string::npos) << e.what();
  }
}

TEST(SweepGrid, PointSettingsRelocateTheChainsFiles) {
  TempDir dir;
  dir.write("base.ini", k_base);
  auto file = dir.write("grid.ini", grid_text("editor.clusters = 2, 5\n", "[set]\ntrain.steps = 20\n"
                                              "io.classifier = runs/chain/cls.pt\n"));
  SweepGrid grid = sweep_grid_load(file, schemas());
  auto points = sweep_grid_expand(grid);
  std::string ini = sweep_point_ini(grid, points[1], "/sw/clusters-5");
  EXPECT_NE(ini.find("[run]\nroot = /sw/clusters-5\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("store = /sw/clusters-5/world.h5\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("metrics = /sw/clusters-5/eval/metrics.json\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("judge = /data/judge.pt\n"), std::string::npos) << ini;  // outside run.root: shared
  EXPECT_NE(ini.find("classifier = /sw/clusters-5/cls.pt\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("[train]\nsteps = 20\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("[editor]\nclusters = 5\n"), std::string::npos) << ini;
  EXPECT_EQ(sweep_point_metrics(grid, "/sw/clusters-5"), fs::path("/sw/clusters-5/eval/metrics.json"));
}

TEST(SweepGrid, BadGridsNameFileAndLine) {
  TempDir dir;
  dir.write("base.ini", k_base);
  const std::string grid = (dir.path / "grid.ini").string();
  struct Case {
    std::string text, expect;
  } cases[] = {
      {grid_text("editor.clusters = 2\n[sweeps]\nx = 1\n"), grid + ":6: unknown section [sweeps]"},
      {grid_text("editor.clusters =\n"), grid + ":5: axis editor.clusters has no values"},
      {grid_text("editor.clusters = 2, , 5\n"), grid + ":5: an empty value"},
      {grid_text("editor.clusters = 2\neditor.clusters = 5\n"), grid + ":6: duplicate key editor.clusters"},
      {grid_text("editor.clusters = 2\n", "[set]\neditor.clusters = 5\n"), grid + ":7: duplicate key editor.clusters"},
      {grid_text("editor.clustrs = 2\n"), grid + ":5: config key 'editor.clustrs' is read by none"},
      {grid_text("report.frames = 2\n"), grid + ":5: config key 'report.frames' is read by none"},
      {grid_text("editor.clusters = 2, many\n"), "config key editor.clusters = 'many' (from " + grid + ":5)"},
      {grid_text("editor.clusters = 2, 2\n"), grid + ":5: axis editor.clusters lists the value '2' twice"},
      {grid_text("run.root = a, b\n"), grid + ":5: run.root is set by the sweep"},
      {"[sweep]\nbase = base.ini\nstages = synth, trian\n[axes]\neditor.clusters = 2\n",
       grid + ":3: stage 'trian' is not a subcommand"},
      {"[sweep]\nbase = nowhere.ini\nstages = synth\n[axes]\nsynth.num_samples = 2\n", grid + ":2: base = nowhere.ini: no such file"},
      {grid_text("editor.clusters = 2\n", "[args]\nedit = --videos\n"), grid + ":7: [args] names stage 'edit'"},
      {grid_text("editor.clusters = 2\n") + "[sweep]\nrank = 2\n", grid + ":7: unknown [sweep] key 'rank'"},
      {grid_text("editor.clusters = 2\n") + "[sweep]\nranks = 0\n", grid + ":7: ranks = '0' is not an integer >= 1"},
      {"[sweep]\nbase = base.ini\nstages = synth\n", "[axes] is empty"},
      {"[axes]\neditor.clusters = 2\n", "stages = ... is missing"},
      {"editor.clusters = 2\n", grid + ":1: 'editor.clusters = 2' comes before any [section]"},
  };
  for (auto& c : cases) {
    std::string error = load_error(dir, c.text);
    EXPECT_NE(error.find(c.expect), std::string::npos) << "grid:\n" << c.text << "\nerror: " << error;
  }
}

TEST(SweepAggregate, MeanAndSampleStd) {
  auto [mean, sd] = sweep_mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(mean, 2.5);
  EXPECT_NEAR(sd, std::sqrt(5.0 / 3.0), 1e-12);
  auto [m1, s1] = sweep_mean_std({3, std::nan("")});  // an unmeasured value is skipped, one left: no spread
  EXPECT_DOUBLE_EQ(m1, 3);
  EXPECT_TRUE(std::isnan(s1));
  auto [m0, s0] = sweep_mean_std({});
  EXPECT_TRUE(std::isnan(m0) && std::isnan(s0));
}

TEST(SweepAggregate, TableGroupsSeedsPerCombination) {
  TempDir dir;
  dir.write("base.ini", k_base);
  SweepGrid grid = sweep_grid_load(dir.write("grid.ini", grid_text("editor.clusters = 2, 5\nrun.seed = 1, 2, 3\n")),
                                   schemas());
  auto points = sweep_grid_expand(grid);
  std::vector<SweepPointResult> results;
  for (auto& p : points) {
    SweepPointResult r;
    r.point = p;
    r.status = p.param("run.seed") == "3" && p.param("editor.clusters") == "5" ? "failed" : "done";
    if (r.status == "done")
      r.metrics = {{"success", std::stod(p.param("editor.clusters")) + std::stod(p.param("run.seed"))},
                   {"loss", p.param("run.seed") == "1" ? std::nan("") : 1.0}};
    results.push_back(r);
  }
  auto rows = sweep_table(grid, results);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seeds, 3);
  EXPECT_EQ(rows[1].seeds, 2);  // the failed seed is left out
  EXPECT_EQ(rows[0].params, (std::vector<std::pair<std::string, std::string>>{{"editor.clusters", "2"}}));
  EXPECT_DOUBLE_EQ(rows[0].mean[0].second, 4.0);  // 3, 4, 5
  EXPECT_DOUBLE_EQ(rows[0].std[0].second, 1.0);
  EXPECT_DOUBLE_EQ(rows[1].mean[0].second, 6.5);  // 6, 7
  EXPECT_NEAR(rows[1].std[0].second, std::sqrt(0.5), 1e-12);
  EXPECT_TRUE(std::isnan(rows[1].std[1].second));  // loss: one finite value (seed 1's is NaN)
  auto j = sweep_json(grid, results, rows);
  EXPECT_EQ(j["schema"], "s3editor.sweep");
  EXPECT_EQ(j["points"].size(), 6u);
  EXPECT_EQ(j["points"][5]["status"], "failed");
  EXPECT_EQ(j["table"][1]["seeds"], 2);
  EXPECT_TRUE(j["table"][1]["std"]["loss"].is_null());
  std::string csv = sweep_csv(grid, rows);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "editor.clusters,seeds,success_mean,success_std,loss_mean,loss_std");
  EXPECT_NE(csv.find("\n5,2,6.5,0.707106781,1,\n"), std::string::npos) << csv;
  std::string table = sweep_text_table(grid, rows, results);
  EXPECT_NE(table.find("6 points: 5 done, 1 failed, 0 pending"), std::string::npos) << table;
}

TEST(SweepAggregate, ReadsLatentVideoAndCsvMetrics) {
  TempDir dir;
  auto latent = dir.write("m.json", R"({"schema": "s3editor.latent_metrics", "summary": {"seen": {"attributes": 10,
      "samples": 300, "success": 0.5, "drift": null}, "unseen": {"success": 0.25}}})");
  auto m = sweep_metrics_read(latent);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].first, "seen_success");
  EXPECT_DOUBLE_EQ(m[0].second, 0.5);
  EXPECT_EQ(m[1].first, "seen_drift");
  EXPECT_TRUE(std::isnan(m[1].second));
  EXPECT_EQ(m[2].first, "unseen_success");
  auto video = dir.write("v.json", R"({"schema": "s3editor.video_metrics", "summary": {"videos": 2, "id": 0.9,
      "tl_id": null}, "videos": [{"id": "a", "id_raw": 0.1}]})");
  auto v = sweep_metrics_read(video);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[1].first, "id");
  auto csv = dir.write("v.csv", "id,status,flicker,id_score\nvid1,done,0.5,0.9\nall,,0.25,0.8\n");
  auto c = sweep_metrics_read(csv);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].first, "flicker");
  EXPECT_DOUBLE_EQ(c[0].second, 0.25);
  EXPECT_THROW(sweep_metrics_read(dir.write("bad.json", "{not json")), DataError);
  EXPECT_THROW(sweep_metrics_read(dir.path / "missing.json"), DataError);
}

TEST(SweepSlurm, ArrayScriptPassesBashN) {
  TempDir dir;
  dir.write("base.ini", k_base);
  SweepGrid grid = sweep_grid_load(dir.write("grid.ini", grid_text("editor.clusters = 2, 5\nrun.seed = 1, 2\n") +
                                                            "[sweep]\nslurm_partition = gpu\nslurm_max_parallel = 2\n"),
                                   schemas());
  auto points = sweep_grid_expand(grid);
  SweepSlurmJob job{"/opt/s3e/bin/s3editor", dir.path / "grid.ini", dir.path / "it's here", dir.path, 3, 2};
  auto files = sweep_slurm_write(grid, points, job);
  std::ifstream in(files.array_script);
  std::string script((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(script.find("#SBATCH --array=0-3%2\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --ntasks=3\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --partition=gpu\n"), std::string::npos);
  EXPECT_NE(script.find("--point \"$point\""), std::string::npos);
  EXPECT_NE(script.find("/it'\\''s here'"), std::string::npos) << script;  // quoted for bash
  std::ifstream list(files.points);
  int lines = 0;
  for (std::string l; std::getline(list, l);) EXPECT_EQ(l, points[lines++].name);
  EXPECT_EQ(lines, 4);
  for (auto& f : {files.array_script, files.aggregate_script}) {
    std::string cmd = "bash -n " + sweep_shell_quote(f.string());
    EXPECT_EQ(std::system(cmd.c_str()), 0) << f;
  }
}
