// The report's pure parts: escaping and embedding (a page can carry any file name or JSON text without breaking
// out of its element), the training-log parser, recognising files by content, sweep aggregation over seeds, the
// ablation charts' series, and the chart data given to the page.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "common/test_util.h"
#include "pipeline/report_charts.h"
#include "pipeline/report_frames.h"
#include "pipeline/report_html.h"
#include "pipeline/report_scan.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace s3e {
namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(ReportHtml, EscapesMarkup) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(ReportHtml, Base64MatchesRfc4648) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(ReportHtml, JsonInScriptCannotCloseTheElement) {
  json j = {{"name", "</script><script>alert(1)</script> & \xE2\x80\xA8"}, {"x", {1.5, nullptr}}};
  const std::string text = json_for_script(j);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_EQ(json::parse(text), j);  // the same value
}

TEST(ReportHtml, ScriptSourceCannotCloseTheElement) {
  EXPECT_EQ(script_for_html("var a = '</script>'; var b = '</SCRIPT >';"),
            "var a = '<\\/script>'; var b = '<\\/SCRIPT >';");
  EXPECT_EQ(script_for_html("a < b && c </ d; '</scrip'"), "a < b && c </ d; '</scrip'");
}

TEST(ReportHtml, PageHoldsFiguresDataAndLibrary) {
  ReportPage page("t <1>");
  page.section("s", "Section");
  ReportChart c{"train:a\"b", "lines", "title", "step", "loss", {{"series", json::array()}}, 300};
  page.chart(c);
  page.picture("frames:v", "PNG", "caption");
  const std::string html = page.render("window.lib = 1;");
  EXPECT_NE(html.find("data-s3e-figure=\"train:a&quot;b\" data-s3e-chart=\"0\""), std::string::npos);
  EXPECT_NE(html.find("data-s3e-figure=\"frames:v\""), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64,UE5H\""), std::string::npos);
  EXPECT_NE(html.find("<title>t &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("window.lib = 1;"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(page.chart_count(), 1u);
}

TEST(ReportScan, ParsesTrainingLogs) {
  ReportTrainLog log = report_parse_train_log(
      "{\"step\": 5, \"loss\": 1.5, \"note\": \"x\"}\n\n{\"step\": 10, \"loss\": 1.0, \"reg\": 0.5}\n{\"step\": 15, \"lo");
  ASSERT_EQ(log.keys, (std::vector<std::string>{"step", "loss", "reg"}));
  ASSERT_EQ(log.columns[0], (std::vector<double>{5, 10}));  // the torn last line ends the log
  EXPECT_EQ(log.columns[1], (std::vector<double>{1.5, 1.0}));
  EXPECT_TRUE(std::isnan(log.columns[2][0]));
  EXPECT_EQ(log.columns[2][1], 0.5);
  EXPECT_TRUE(report_parse_train_log("{\"a\": 1}\n").keys.empty());
  EXPECT_TRUE(report_parse_train_log("not json\n").keys.empty());
}

TEST(ReportScan, RecognisesFilesByContent) {
  test::TempDir dir("report_scan");
  const fs::path root = dir.path();
  write(root / "run/train/train.manifest.json", R"({"schema": "s3editor.run_manifest", "stage": "train"})");
  write(root / "run/anything.json", R"({"schema": "s3editor.latent_metrics", "summary": {}})");
  write(root / "run/renamed_metrics.txt.json", R"({"schema": "s3editor.video_metrics", "videos": []})");
  write(root / "sweep/result.json", R"({"schema": "s3editor.sweep", "points": []})");
  write(root / "run/package.json", R"({"name": "not ours"})");
  write(root / "run/broken.json", "{");
  write(root / "run/train/logs/train.jsonl", "{\"step\": 1, \"loss\": 2}\n");
  write(root / "run/train/logs/events.jsonl", "{\"event\": 1}\n");
  write(root / "run/.hidden/x.manifest.json", R"({"schema": "s3editor.run_manifest"})");
  write(root / "run/fake.h5", "not hdf5");
  ReportScan scan = report_scan(root);
  ASSERT_EQ(scan.manifests.size(), 1u);
  EXPECT_EQ(scan.manifests[0].json["stage"], "train");
  EXPECT_EQ(scan.latent_metrics.size(), 1u);
  EXPECT_EQ(scan.video_metrics.size(), 1u);
  EXPECT_EQ(scan.sweeps.size(), 1u);
  ASSERT_EQ(scan.train_logs.size(), 1u);
  EXPECT_EQ(scan.train_logs[0].path.filename(), "train.jsonl");
  EXPECT_TRUE(scan.editors.empty());
  // The broken JSON and the fake HDF5 are noted, not fatal.
  EXPECT_EQ(scan.notes.size(), 2u);
  EXPECT_THROW(report_scan(root / "run/package.json"), std::exception);

  ReportScanLimits limits;
  limits.max_files = 3;
  EXPECT_TRUE(report_scan(root, limits).truncated);
}

TEST(ReportCharts, SweepRowsAggregateSeeds) {
  json sweep = {{"schema", "s3editor.sweep"}, {"seed_key", "run.seed"}, {"axes", {{"editor.clusters", {3, 5}}}},
                {"points", json::array()}};
  auto point = [&](const char* k, const char* seed, double m, const char* status = "done") {
    sweep["points"].push_back({{"params", {{"editor.clusters", k}, {"run.seed", seed}}}, {"status", status},
                               {"metrics", {{"success", m}}}});
  };
  point("3", "1", 0.5);
  point("3", "2", 0.7);
  point("5", "1", 0.9);
  point("5", "2", 0.0, "failed");
  auto rows = report_sweep_rows(sweep);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].params, (std::vector<std::pair<std::string, std::string>>{{"editor.clusters", "3"}}));
  EXPECT_EQ(rows[0].seeds, 2);
  EXPECT_NEAR(rows[0].mean[0].second, 0.6, 1e-12);
  EXPECT_NEAR(rows[0].std[0].second, std::sqrt(0.02), 1e-12);  // sample std of {0.5, 0.7}
  EXPECT_EQ(rows[1].seeds, 1);
  EXPECT_EQ(rows[1].std[0].second, 0.0);

  // A table, when the sweep has one, wins.
  sweep["table"] = {{{"params", {{"editor.clusters", "5"}}}, {"seeds", 3}, {"mean", {{"success", 0.25}}},
                     {"std", {{"success", 0.125}}}}};
  rows = report_sweep_rows(sweep);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].seeds, 3);
  EXPECT_EQ(rows[0].mean[0].second, 0.25);
}

TEST(ReportCharts, AblationSeriesPerOtherAxis) {
  json sweep = {{"schema", "s3editor.sweep"}, {"seed_key", "run.seed"},
                {"axes", {{"editor.clusters", {"10", "3"}}, {"sparsity.rate", {"0.1", "0.2"}}, {"run.seed", {1, 2}}}},
                {"table", json::array()}};
  for (const char* k : {"10", "3"})
    for (const char* r : {"0.1", "0.2"})
      sweep["table"].push_back({{"params", {{"editor.clusters", k}, {"sparsity.rate", r}}}, {"seeds", 2},
                                {"mean", {{"success", std::stod(k) * std::stod(r)}, {"identity", nullptr}}},
                                {"std", {{"success", 0.01}, {"identity", nullptr}}}});
  auto charts = report_ablation_charts(sweep, "ablation");
  // Two axes x one metric with numbers (identity is all null: no chart).
  ASSERT_EQ(charts.size(), 2u);
  const ReportChart& k = charts[0];
  EXPECT_EQ(k.figure, "ablation:editor.clusters:success");
  EXPECT_EQ(k.kind, "errorbars");
  EXPECT_FALSE(k.spec["x_category"].get<bool>());
  ASSERT_EQ(k.spec["series"].size(), 2u);  // one per sparsity.rate
  EXPECT_EQ(k.spec["series"][0]["name"], "sparsity.rate = 0.1");
  EXPECT_EQ(k.spec["series"][0]["x"], json({3.0, 10.0}));  // sorted as numbers, not as text
  EXPECT_NEAR(k.spec["series"][0]["y"][1].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(k.spec["series"][0]["err"][0], 0.01);
}

TEST(ReportCharts, TrainingLogSplitsLossesSparsityAndRates) {
  ReportTrainLog log = report_parse_train_log(
      "{\"step\": 1, \"loss\": 2, \"cycle\": 0, \"groups_zero\": 0, \"groups\": 10, \"group_sparsity\": 0, "
      "\"samples_per_s\": 100}\n"
      "{\"step\": 2, \"loss\": 1, \"cycle\": 0, \"groups_zero\": 5, \"groups\": 10, \"group_sparsity\": 0.5, "
      "\"samples_per_s\": 110}\n");
  auto charts = report_train_charts(log, "train:x", "x");
  ASSERT_EQ(charts.size(), 3u);
  EXPECT_EQ(charts[0].figure, "train:x:losses");
  EXPECT_TRUE(charts[0].spec["log_y"].get<bool>());
  ASSERT_EQ(charts[0].spec["series"].size(), 2u);
  EXPECT_EQ(charts[0].spec["series"][1]["name"], "cycle (all 0)");
  EXPECT_EQ(charts[1].figure, "train:x:sparsity");
  ASSERT_EQ(charts[1].spec["series"].size(), 1u);
  EXPECT_EQ(charts[1].spec["series"][0]["y"], json({0.0, 0.5}));
  EXPECT_EQ(charts[2].figure, "train:x:rate");
  EXPECT_EQ(report_column_kind("groups_zero"), ReportColumnKind::sparsity);

  // A long log is thinned, keeping its first and last step.
  std::string text;
  for (int step = 1; step <= 10001; ++step) text += "{\"step\": " + std::to_string(step) + ", \"loss\": 1}\n";
  auto thin = report_train_charts(report_parse_train_log(text), "t", "t");
  const json& x = thin[0].spec["series"][0]["x"];
  EXPECT_LE(x.size(), 2001u);
  EXPECT_GE(x.size(), 1000u);
  EXPECT_EQ(x.front(), 1.0);
  EXPECT_EQ(x.back(), 10001.0);
  EXPECT_EQ(report_column_kind("faith"), ReportColumnKind::loss);
}

TEST(ReportCharts, VideoIdAndHeatMap) {
  json video = {{"id", "v1"}, {"per_frame", {{"time_s", {0.0, 0.04, 0.08}}, {"id", {0.9, nullptr, 0.8}},
                                             {"tl_id", nullptr}}}};
  auto charts = report_video_id_charts(video, "video-id:v1", "v1");
  ASSERT_EQ(charts.size(), 1u);
  ASSERT_EQ(charts[0].spec["series"].size(), 1u);  // tl_id is null: no series
  EXPECT_EQ(charts[0].spec["series"][0]["y"], json({0.9, nullptr, 0.8}));
  video["per_frame"]["id"] = nullptr;
  EXPECT_TRUE(report_video_id_charts(video, "x", "v1").empty());

  ReportMatrix m{"sparse masks", 2, 3, {1, 0, 1, 1, 1, NAN}, {"e0", "e1"}, {"0", "1", "2"}, "expert", "group"};
  ReportChart h = report_heatmap_chart(m, "masks:x", "masks");
  EXPECT_EQ(h.kind, "heatmap");
  EXPECT_EQ(h.spec["values"].size(), 5u);  // the NaN cell is left out
  EXPECT_EQ(h.spec["values"][1], json({1, 0, 0.0}));  // [column, row, value]
  EXPECT_EQ(h.spec["min"], 0.0);
  EXPECT_EQ(h.spec["max"], 1.0);
}

TEST(ReportFrames, StripIndicesSpreadOverTheVideo) {
  EXPECT_EQ(report_strip_indices(100, 4), (std::vector<int64_t>{12, 37, 62, 87}));
  EXPECT_EQ(report_strip_indices(2, 4), (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(report_strip_indices(0, 4).empty());
}

}  // namespace
}  // namespace s3e
